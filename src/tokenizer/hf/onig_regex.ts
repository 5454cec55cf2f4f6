// Split patterns in tokenizer.json are written for Oniguruma (the regex engine of the Rust
// tokenizers library). JavaScript's RegExp with the `u` flag reads most of them the same way;
// this file rewrites the constructs whose meaning differs and refuses the ones it cannot
// express, so a pattern never silently matches differently:
//
//   \s \S     Oniguruma: Unicode White_Space (includes U+0085, excludes U+FEFF) — spelled out
//   \d \D     Oniguruma: any decimal digit \p{Nd} (JavaScript: only 0-9)
//   \w \W     Oniguruma: letters, marks, decimal digits, connector punctuation
//   (?i:...)  inline case-insensitivity (Node 20 lacks it): ASCII letters become [xX]
//   \A \z     start / end of input
//   \p{...}   passed through; JavaScript needs the exact Unicode property names
//
// Refused (an error naming the construct): \G, \Z, \h, \K, \R, \X, atomic groups (?>...),
// possessive quantifiers, POSIX brackets [[:alpha:]], other inline flags, backreferences.

const WHITE_SPACE = "\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const WORD = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}";

/** Class contents (inside [...]) for the shorthand escapes that differ. */
const CLASS_SHORTHAND: Record<string, string> = { s: WHITE_SPACE, d: "\\p{Nd}", w: WORD };

export class RegexTranslationError extends Error {}

/** A JavaScript RegExp (flags "gu" plus `extraFlags`) that matches as Oniguruma would. */
export function compileOnigRegex(pattern: string, where: string): RegExp {
  const source = translate(pattern, where);
  try {
    return new RegExp(source, "gu");
  } catch (err) {
    throw new RegexTranslationError(`${where}: regex ${JSON.stringify(pattern)} is not supported: ${(err as Error).message}`);
  }
}

/** The JavaScript source for an Oniguruma pattern. */
export function translate(pattern: string, where: string): string {
  const fail = (what: string): never => {
    throw new RegexTranslationError(`${where}: regex ${JSON.stringify(pattern)} uses ${what}, which is not supported`);
  };
  let out = "";
  // One entry per open group: whether it is case-insensitive.
  const groups: boolean[] = [];
  const caseless = (): boolean => groups.length > 0 && groups[groups.length - 1]!;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "\\") {
      const [text, next] = translateEscape(pattern, i, false, fail);
      out += text;
      i = next;
    } else if (c === "[") {
      const [text, next] = translateClass(pattern, i, caseless(), fail);
      out += text;
      i = next;
    } else if (c === "(") {
      if (pattern.startsWith("(?i:", i)) {
        groups.push(true);
        out += "(?:";
        i += 4;
      } else if (pattern.startsWith("(?>", i)) {
        fail("an atomic group (?>...)");
      } else if (/^\(\?(?::|=|!|<=|<!|<[A-Za-z])/.test(pattern.slice(i, i + 4)) || pattern[i + 1] !== "?") {
        groups.push(caseless());
        out += "(";
        i += 1;
      } else {
        fail(`the inline flag group ${pattern.slice(i, i + 4)}`);
      }
    } else if (c === ")") {
      groups.pop();
      out += ")";
      i += 1;
    } else if ((c === "+" || c === "*" || c === "?" || c === "}") && pattern[i + 1] === "+") {
      fail("a possessive quantifier");
    } else if (caseless() && /[A-Za-z]/.test(c)) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      i += 1;
    } else if (c === ".") {
      out += "[^\\n]"; // Oniguruma's dot excludes only the newline
      i += 1;
    } else if (c === "^" || c === "$") {
      // Oniguruma anchors at line starts / ends (newline only), JavaScript without `m` at the input's.
      out += c === "^" ? "(?<![^\\n])" : "(?![^\\n])";
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** An escape outside or inside a class; returns [JavaScript text, index after it]. */
function translateEscape(p: string, i: number, inClass: boolean, fail: (what: string) => never): [string, number] {
  const e = p[i + 1];
  if (e === undefined) fail("a trailing backslash");
  if (e === "p" || e === "P") {
    const end = p.indexOf("}", i);
    if (p[i + 2] !== "{" || end < 0) fail(`\\${e} without braces`);
    return [p.slice(i, end + 1), end + 1];
  }
  if (e === "x" && p[i + 2] === "{") {
    const end = p.indexOf("}", i);
    return [`\\u{${p.slice(i + 3, end)}}`, end + 1];
  }
  if (e === "s" || e === "d" || e === "w") return [inClass ? CLASS_SHORTHAND[e]! : `[${CLASS_SHORTHAND[e]}]`, i + 2];
  if (e === "S" || e === "D" || e === "W") {
    if (inClass) fail(`\\${e} inside a character class`);
    return [`[^${CLASS_SHORTHAND[e.toLowerCase()]}]`, i + 2];
  }
  if (!inClass && e === "A") return ["(?<![\\s\\S])", i + 2];
  if (!inClass && e === "z") return ["(?![\\s\\S])", i + 2];
  if (!inClass && (e === "b" || e === "B")) fail(`\\${e} (Oniguruma's word boundary is Unicode-aware)`);
  if (/[A-Za-z0-9]/.test(e!)) {
    if (!/^[tnrfv0bB]$/.test(e!) && !/^x[0-9A-Fa-f]{2}$/.test(p.slice(i + 1, i + 4)) && !/^u[0-9A-Fa-f]{4}$/.test(p.slice(i + 1, i + 6)))
      fail(`\\${e}`);
    if (e === "x") return [p.slice(i, i + 4), i + 4];
    if (e === "u") return [p.slice(i, i + 6), i + 6];
    if (e === "b" && inClass) return ["\\x08", i + 2];
    return [p.slice(i, i + 2), i + 2];
  }
  // An escaped symbol means itself; JavaScript's `u` mode only allows escaping syntax characters.
  const cp = p.codePointAt(i + 1)!;
  const len = cp > 0xffff ? 2 : 1;
  const syntax = "^$\\.*+?()[]{}|/".includes(e!) || (inClass && e === "-");
  return [syntax ? `\\${e}` : `\\u{${cp.toString(16)}}`, i + 1 + len];
}

/** A bracket class starting at p[i] === "["; returns [JavaScript text, index after it]. */
function translateClass(p: string, i: number, caseless: boolean, fail: (what: string) => never): [string, number] {
  let out = "[";
  let j = i + 1;
  if (p[j] === "^") {
    out += "^";
    j++;
  }
  let first = true;
  while (j < p.length && (p[j] !== "]" || first)) {
    const c = p[j]!;
    first = false;
    if (c === "[") {
      if (p[j + 1] === ":") fail("a POSIX bracket expression");
      fail("a nested character class");
    }
    if (c === "&" && p[j + 1] === "&") fail("a class intersection (&&)");
    if (c === "\\") {
      const [text, next] = translateEscape(p, j, true, fail);
      out += text;
      j = next;
      continue;
    }
    if (caseless && /[A-Za-z]/.test(c)) {
      if (p[j + 1] === "-") fail("a letter range inside (?i:...)");
      out += c.toLowerCase() + c.toUpperCase();
    } else {
      // A literal "-" or "]" first, "/" and the like are fine in JavaScript's `u` mode when escaped.
      out += c === "]" ? "\\]" : c;
    }
    j++;
  }
  if (j >= p.length) fail("an unterminated character class");
  return [out + "]", j + 1];
}
