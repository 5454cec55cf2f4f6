// Test fixtures: a SentencePiece .model written as a tokenizer.json, the way transformers'
// converters do it (LlamaConverter for BPE, a Unigram vocabulary of [piece, score]), so the
// same model can be run through HFTokenizer, the reference and SentencePieceProcessor.
import { readFileSync } from "node:fs";
import { parseModelProto, PieceType, type ModelProto } from "../../src/tokenizer/model_proto.js";

export function readModel(path: string): ModelProto {
  return parseModelProto(readFileSync(path), path);
}

const META = "\u2581";

function addedTokens(proto: ModelProto): object[] {
  return proto.pieces.flatMap((p, id) =>
    p.type === PieceType.CONTROL || p.type === PieceType.UNKNOWN
      ? [{ id, content: p.piece, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }]
      : [],
  );
}

/**
 * BPE merges from a SentencePiece BPE vocabulary (transformers' SentencePieceExtractor): every
 * split of every piece into two pieces, ordered by the merged piece's score (highest first).
 */
function bpeMerges(proto: ModelProto): [string, string][] {
  const ids = new Map(proto.pieces.map((p, i) => [p.piece, i]));
  const merges: { pair: [string, string]; score: number; l: number; r: number }[] = [];
  for (const p of proto.pieces) {
    if (p.type !== undefined && p.type !== PieceType.NORMAL && p.type !== PieceType.USER_DEFINED) continue;
    const chars = Array.from(p.piece);
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join(""),
        r = chars.slice(k).join("");
      if (ids.has(l) && ids.has(r)) merges.push({ pair: [l, r], score: p.score ?? 0, l: ids.get(l)!, r: ids.get(r)! });
    }
  }
  merges.sort((a, b) => b.score - a.score || a.l - b.l || a.r - b.r);
  return merges.map((m) => m.pair);
}

/** Llama-2-style tokenizer.json: "legacy" (Prepend + Replace normalizer) or "metaspace" (pre-tokenizer). */
export function bpeTokenizerJson(proto: ModelProto, style: "legacy" | "metaspace"): object {
  const vocab = Object.fromEntries(proto.pieces.map((p, i) => [p.piece, i]));
  const unk = proto.pieces.find((p) => p.type === PieceType.UNKNOWN)!.piece;
  const bos = proto.pieces.findIndex((p) => p.piece === "<s>");
  const legacy = style === "legacy";
  return {
    version: "1.0",
    added_tokens: addedTokens(proto),
    normalizer: legacy
      ? {
          type: "Sequence",
          normalizers: [
            { type: "Prepend", prepend: META },
            { type: "Replace", pattern: { String: " " }, content: META },
          ],
        }
      : null,
    pre_tokenizer: legacy ? null : { type: "Metaspace", replacement: META, prepend_scheme: "first", split: false },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [],
      special_tokens: { "<s>": { id: "<s>", ids: [bos], tokens: ["<s>"] } },
    },
    decoder: legacy
      ? {
          type: "Sequence",
          decoders: [
            { type: "Replace", pattern: { String: META }, content: " " },
            { type: "ByteFallback" },
            { type: "Fuse" },
            { type: "Strip", content: " ", start: 1, stop: 0 },
          ],
        }
      : {
          type: "Sequence",
          decoders: [
            { type: "Metaspace", replacement: META, prepend_scheme: "first", split: false },
            { type: "ByteFallback" },
            { type: "Fuse" },
          ],
        },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: bpeMerges(proto),
    },
  };
}

/** A Unigram tokenizer.json over the model's pieces and scores (NFKC, Metaspace). */
export function unigramTokenizerJson(proto: ModelProto): object {
  return {
    version: "1.0",
    added_tokens: addedTokens(proto),
    normalizer: { type: "NFKC" },
    pre_tokenizer: { type: "Metaspace", replacement: META, prepend_scheme: "always", split: false },
    post_processor: null,
    decoder: { type: "Metaspace", replacement: META, prepend_scheme: "always", split: false },
    model: {
      type: "Unigram",
      unk_id: proto.pieces.findIndex((p) => p.type === PieceType.UNKNOWN),
      byte_fallback: false,
      vocab: proto.pieces.map((p) => [p.piece, p.score ?? 0]),
    },
  };
}
