// The normalizers of tokenizer.json: functions from text to text, applied before pre-tokenization.
// Each follows the Rust tokenizers library (normalizers/*.rs).
import { compileOnigRegex } from "./onig_regex.js";
import { bool, list, node, pattern, str, typeOf, unsupported, type Node } from "./config.js";

export type Normalize = (text: string) => string;

const KNOWN = ["Sequence", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Replace", "Prepend", "Strip", "StripAccents"];

/** The normalizer a tokenizer.json node describes (null: none). */
export function buildNormalizer(json: unknown, where: string): Normalize | null {
  if (json === null || json === undefined) return null;
  const n = node(json, where);
  switch (typeOf(n)) {
    case "Sequence": {
      const steps = list(n, "normalizers").map((s) => buildNormalizer(s.json, s.where)!);
      return (text) => steps.reduce((t, step) => step(t), text);
    }
    case "NFC":
      return (t) => t.normalize("NFC");
    case "NFD":
      return (t) => t.normalize("NFD");
    case "NFKC":
      return (t) => t.normalize("NFKC");
    case "NFKD":
      return (t) => t.normalize("NFKD");
    case "Lowercase":
      return lowercase;
    case "Replace":
      return replace(n);
    case "Prepend": {
      const prefix = str(n, "prepend");
      return (t) => (t.length > 0 ? prefix + t : t);
    }
    case "Strip": {
      const left = bool(n, "strip_left", true),
        right = bool(n, "strip_right", true);
      return (t) => {
        if (left) t = t.replace(LEADING_SPACE, "");
        if (right) t = t.replace(TRAILING_SPACE, "");
        return t;
      };
    }
    case "StripAccents":
      return (t) => t.replace(/\p{Mn}/gu, "");
    default:
      return unsupported(n, "normalizer", KNOWN);
  }
}

const LEADING_SPACE = /^\p{White_Space}+/u;
const TRAILING_SPACE = /\p{White_Space}+$/u;

/** Lowercases character by character, as Rust's char::to_lowercase (no final-sigma rule). */
function lowercase(text: string): string {
  let out = "";
  for (const c of text) out += c.toLowerCase();
  return out;
}

function replace(n: Node): Normalize {
  const p = pattern(n, "pattern");
  const content = str(n, "content");
  if ("literal" in p) {
    if (p.literal === "") return (t) => t;
    return (t) => t.replaceAll(p.literal, content);
  }
  const re = compileOnigRegex(p.regex, `${n.where}.pattern`);
  return (t) => t.replace(re, () => content);
}
