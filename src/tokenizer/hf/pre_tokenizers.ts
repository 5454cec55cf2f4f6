// The pre-tokenizers of tokenizer.json: they cut normalized text into pieces ("words") that the
// model encodes one by one, as the Rust tokenizers library does (pre_tokenizers/*.rs).
//
//   Split      cut at a pattern's matches; `behavior` says what happens to the matched text
//   ByteLevel  GPT-2's split (optional) — the model then sees each piece as UTF-8 bytes
//   Metaspace  SentencePiece style: spaces become "▁", a "▁" may be prepended, optional split
//   Digits     numbers apart from the rest: each digit alone, or runs of digits together
//   Sequence   each pre-tokenizer in turn, on every piece the previous one made
import { bool, list, node, pattern, str, typeOf, unsupported, TokenizerFileError, type Node } from "./config.js";
import { compileOnigRegex } from "./onig_regex.js";

/** A piece of text and whether it starts at the very beginning of the input (Metaspace "first"). */
export interface Piece {
  text: string;
  atStart: boolean;
}

export type PreTokenize = (pieces: Piece[]) => Piece[];

export interface PreTokenizer {
  run: PreTokenize;
  /** True when the last step is ByteLevel: the model reads each piece as its UTF-8 bytes. */
  byteLevel: boolean;
}

const KNOWN = ["Sequence", "Split", "ByteLevel", "Metaspace", "Digits"];
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export type SplitBehavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";
const BEHAVIORS: readonly SplitBehavior[] = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"];

/** The pre-tokenizer a tokenizer.json node describes (none: the text is one piece). */
export function buildPreTokenizer(json: unknown, where: string): PreTokenizer {
  if (json === null || json === undefined) return { run: (p) => p, byteLevel: false };
  const steps = flatten(node(json, where));
  const byteLevelAt = steps.findIndex((s) => typeOf(s) === "ByteLevel");
  if (byteLevelAt >= 0 && byteLevelAt !== steps.length - 1) {
    throw new TokenizerFileError(
      `${steps[byteLevelAt]!.where}: a ByteLevel pre-tokenizer followed by others is not supported (it must come last)`,
    );
  }
  const fns = steps.map(buildStep);
  return {
    run: (pieces) => fns.reduce((ps, f) => f(ps), pieces),
    byteLevel: byteLevelAt >= 0,
  };
}

function flatten(n: Node): Node[] {
  return typeOf(n) === "Sequence" ? list(n, "pretokenizers").flatMap(flatten) : [n];
}

function buildStep(n: Node): PreTokenize {
  switch (typeOf(n)) {
    case "Split":
      return splitStep(n);
    case "ByteLevel":
      return byteLevelStep(n);
    case "Metaspace":
      return metaspaceStep(n);
    case "Digits":
      return digitsStep(n);
    default:
      return unsupported(n, "pre-tokenizer", KNOWN);
  }
}

function behaviorOf(n: Node): SplitBehavior {
  const b = str(n, "behavior");
  if (!(BEHAVIORS as readonly string[]).includes(b))
    throw new TokenizerFileError(`${n.where}.behavior: '${b}' is not one of ${BEHAVIORS.join(", ")}`);
  return b as SplitBehavior;
}

function splitStep(n: Node): PreTokenize {
  const p = pattern(n, "pattern");
  const source = "literal" in p ? escapeRegex(p.literal) : p.regex;
  const re = compileOnigRegex(source, `${n.where}.pattern`);
  const behavior = behaviorOf(n);
  const invert = bool(n, "invert", false);
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) splitPiece(piece, re, behavior, invert, out);
    return out;
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/** Cuts one piece at the matches of `re`, appending the non-empty results to `out`. */
export function splitPiece(piece: Piece, re: RegExp, behavior: SplitBehavior, invert: boolean, out: Piece[]): void {
  const text = piece.text;
  // Spans [start, end) covering the text, each flagged whether it is a match.
  const starts: number[] = [],
    ends: number[] = [],
    isMatch: boolean[] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const s = m.index,
      e = s + m[0].length;
    if (e === s) re.lastIndex += text.codePointAt(s)! > 0xffff ? 2 : 1;
    if (prev !== s) {
      starts.push(prev);
      ends.push(s);
      isMatch.push(invert);
    }
    starts.push(s);
    ends.push(e);
    isMatch.push(!invert);
    prev = e;
  }
  if (prev !== text.length) {
    starts.push(prev);
    ends.push(text.length);
    isMatch.push(invert);
  }
  const spans = mergeSpans(starts, ends, isMatch, behavior);
  for (const [s, e] of spans) {
    if (e > s) out.push({ text: text.slice(s, e), atStart: piece.atStart && s === 0 });
  }
}

/** Applies a split behavior to the matched / unmatched spans (Rust: NormalizedString::split). */
function mergeSpans(starts: number[], ends: number[], isMatch: boolean[], behavior: SplitBehavior): [number, number][] {
  const n = starts.length;
  const out: [number, number][] = [];
  switch (behavior) {
    case "Isolated":
      for (let i = 0; i < n; i++) out.push([starts[i]!, ends[i]!]);
      return out;
    case "Removed":
      for (let i = 0; i < n; i++) if (!isMatch[i]) out.push([starts[i]!, ends[i]!]);
      return out;
    case "MergedWithPrevious": {
      let prevMatch = false;
      for (let i = 0; i < n; i++) {
        if (isMatch[i] && !prevMatch && out.length > 0) out[out.length - 1]![1] = ends[i]!;
        else out.push([starts[i]!, ends[i]!]);
        prevMatch = isMatch[i]!;
      }
      return out;
    }
    case "MergedWithNext": {
      let prevMatch = false;
      for (let i = n - 1; i >= 0; i--) {
        if (isMatch[i] && !prevMatch && out.length > 0) out[out.length - 1]![0] = starts[i]!;
        else out.push([starts[i]!, ends[i]!]);
        prevMatch = isMatch[i]!;
      }
      return out.reverse();
    }
    case "Contiguous": {
      for (let i = 0; i < n; i++) {
        if (i > 0 && isMatch[i] === isMatch[i - 1]) out[out.length - 1]![1] = ends[i]!;
        else out.push([starts[i]!, ends[i]!]);
      }
      return out;
    }
  }
}

function byteLevelStep(n: Node): PreTokenize {
  const addPrefixSpace = bool(n, "add_prefix_space", true);
  const re = bool(n, "use_regex", true) ? compileOnigRegex(GPT2_PATTERN, `${n.where} (GPT-2 pattern)`) : null;
  return (pieces) => {
    const out: Piece[] = [];
    for (let piece of pieces) {
      if (addPrefixSpace && !piece.text.startsWith(" ")) piece = { text: " " + piece.text, atStart: piece.atStart };
      if (re) splitPiece(piece, re, "Isolated", false, out);
      else out.push(piece);
    }
    return out;
  };
}

/** Rust's char::is_numeric (\p{N}) characters split off, one by one or as runs. */
function digitsStep(n: Node): PreTokenize {
  const behavior: SplitBehavior = bool(n, "individual_digits", false) ? "Isolated" : "Contiguous";
  const re = /\p{N}/gu;
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) splitPiece(piece, re, behavior, false, out);
    return out;
  };
}

function metaspaceStep(n: Node): PreTokenize {
  const replacement = str(n, "replacement", "\u2581");
  if ([...replacement].length !== 1)
    throw new TokenizerFileError(`${n.where}.replacement: expected one character, got ${JSON.stringify(replacement)}`);
  const scheme = prependScheme(n);
  const split = bool(n, "split", true);
  const re = new RegExp(escapeRegex(replacement), "gu");
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) {
      let text = piece.text.replaceAll(" ", replacement);
      if (!text.startsWith(replacement) && (scheme === "always" || (scheme === "first" && piece.atStart))) text = replacement + text;
      const replaced = { text, atStart: piece.atStart };
      if (split) splitPiece(replaced, re, "MergedWithNext", false, out);
      else if (text.length > 0) out.push(replaced);
    }
    return out;
  };
}

/** Metaspace's prepend_scheme; older files say add_prefix_space instead. */
export function prependScheme(n: Node): "always" | "first" | "never" {
  const s = n.json.prepend_scheme;
  if (s === undefined || s === null) return bool(n, "add_prefix_space", true) ? "always" : "never";
  if (s !== "always" && s !== "first" && s !== "never")
    throw new TokenizerFileError(`${n.where}.prepend_scheme: '${String(s)}' is not one of always, first, never`);
  return s;
}
