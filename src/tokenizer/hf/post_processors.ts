// Post-processors of tokenizer.json: the special tokens put around an encoded text when
// special tokens are asked for (Rust tokenizers: processors/*.rs). Only single texts (no pairs).
//
//   TemplateProcessing  "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}]
//   RobertaProcessing / BertProcessing   cls A sep
//   ByteLevel           changes offsets only: ids pass through
import { list, node, typeOf, unsupported, TokenizerFileError, type Node } from "./config.js";

/** Ids before and after the text's own ids. */
export interface Template {
  prefix: number[];
  suffix: number[];
}

const KNOWN = ["TemplateProcessing", "ByteLevel", "RobertaProcessing", "BertProcessing", "Sequence"];

export function buildPostProcessor(json: unknown, where: string): Template {
  if (json === null || json === undefined) return { prefix: [], suffix: [] };
  return build(node(json, where));
}

function build(n: Node): Template {
  switch (typeOf(n)) {
    case "ByteLevel":
      return { prefix: [], suffix: [] };
    case "TemplateProcessing":
      return template(n);
    case "RobertaProcessing":
    case "BertProcessing":
      return { prefix: [tokenId(n, "cls")], suffix: [tokenId(n, "sep")] };
    case "Sequence": {
      const parts = list(n, "processors").map(build);
      return { prefix: parts.flatMap((p) => p.prefix), suffix: parts.flatMap((p) => p.suffix) };
    }
    default:
      return unsupported(n, "post-processor", KNOWN);
  }
}

/** cls / sep are ["<s>", 0]. */
function tokenId(n: Node, key: string): number {
  const v = n.json[key];
  if (!Array.isArray(v) || !Number.isInteger(v[1])) throw new TokenizerFileError(`${n.where}.${key}: expected ["token", id]`);
  return v[1] as number;
}

function template(n: Node): Template {
  const specials = node(n.json.special_tokens ?? {}, `${n.where}.special_tokens`).json;
  const out: Template = { prefix: [], suffix: [] };
  let seenSequence = false;
  for (const item of list(n, "single")) {
    if (item.json.Sequence !== undefined) {
      if (seenSequence) throw new TokenizerFileError(`${item.where}: a template with the sequence twice is not supported`);
      seenSequence = true;
      continue;
    }
    const special = node(item.json.SpecialToken, `${item.where}.SpecialToken`).json;
    const name = special.id;
    const entry = typeof name === "string" ? (specials[name] as { ids?: unknown } | undefined) : undefined;
    if (!entry || !Array.isArray(entry.ids) || !entry.ids.every((x) => Number.isInteger(x))) {
      throw new TokenizerFileError(`${item.where}: special token ${JSON.stringify(name)} is not in ${n.where}.special_tokens`);
    }
    (seenSequence ? out.suffix : out.prefix).push(...(entry.ids as number[]));
  }
  if (!seenSequence) throw new TokenizerFileError(`${n.where}.single: no {"Sequence": {"id": "A"}} item`);
  return out;
}
