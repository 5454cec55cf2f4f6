// The decoders of tokenizer.json: token strings back to text (Rust tokenizers: decoders/*.rs).
// Each step maps a list of token strings to a list of strings; the result is their concatenation.
import { fromByteLevel } from "./byte_level.js";
import { list, node, pattern, str, typeOf, unsupported, type Node } from "./config.js";
import { prependScheme } from "./pre_tokenizers.js";

export type Decode = (tokens: string[]) => string[];

const KNOWN = ["Sequence", "ByteLevel", "Metaspace", "Replace", "ByteFallback", "Fuse", "Strip"];
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The decoder a tokenizer.json node describes (none: tokens joined with spaces, as the Rust library). */
export function buildDecoder(json: unknown, where: string): (tokens: string[]) => string {
  if (json === null || json === undefined) return (tokens) => tokens.join(" ");
  const step = buildStep(node(json, where));
  return (tokens) => step(tokens).join("");
}

function buildStep(n: Node): Decode {
  switch (typeOf(n)) {
    case "Sequence": {
      const steps = list(n, "decoders").map(buildStep);
      return (tokens) => steps.reduce((t, s) => s(t), tokens);
    }
    case "ByteLevel":
      return byteLevel;
    case "Metaspace":
      return metaspace(n);
    case "Replace":
      return replace(n);
    case "ByteFallback":
      return byteFallback;
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip":
      return strip(n);
    default:
      return unsupported(n, "decoder", KNOWN);
  }
}

/** Byte-level characters back to bytes, then UTF-8 (invalid sequences become U+FFFD). */
function byteLevel(tokens: string[]): string[] {
  const bytes: number[] = [];
  for (const t of tokens) fromByteLevel(t, bytes);
  return [utf8.decode(Uint8Array.from(bytes))];
}

function metaspace(n: Node): Decode {
  const replacement = str(n, "replacement", "\u2581");
  const stripFirst = prependScheme(n) !== "never";
  return (tokens) =>
    tokens.map((t, i) => {
      // The first token loses its replacement characters (the prefix the pre-tokenizer added), as
      // in the Rust library; transformers.js drops only one leading space (they differ for "▁▁…").
      if (i === 0 && stripFirst) return t.replaceAll(replacement, "");
      return t.replaceAll(replacement, " ");
    });
}

function replace(n: Node): Decode {
  const p = pattern(n, "pattern");
  if (!("literal" in p)) throw new Error(`${n.where}.pattern: a Regex pattern in a Replace decoder is not supported`);
  const content = str(n, "content");
  return (tokens) => tokens.map((t) => t.replaceAll(p.literal, content));
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** Runs of "<0xAB>" tokens become the text they spell; invalid UTF-8 gives one U+FFFD per byte. */
function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    try {
      out.push(strictUtf8.decode(Uint8Array.from(pending)));
    } catch {
      for (let i = 0; i < pending.length; i++) out.push("\uFFFD");
    }
    pending = [];
  };
  for (const t of tokens) {
    const m = t.length === 6 ? BYTE_TOKEN.exec(t) : null;
    if (m) {
      pending.push(parseInt(m[1]!, 16));
    } else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}

function strip(n: Node): Decode {
  const content = str(n, "content");
  const start = Number(n.json.start ?? 0),
    stop = Number(n.json.stop ?? 0);
  return (tokens) =>
    tokens.map((t) => {
      const chars = Array.from(t);
      let from = 0,
        to = chars.length;
      while (from < Math.min(start, chars.length) && chars[from] === content) from++;
      while (chars.length - to < stop && to > from && chars[to - 1] === content) to--;
      return chars.slice(from, to).join("");
    });
}
