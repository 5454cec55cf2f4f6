// The SentencePiece tokenizer of a GGUF file, rebuilt from its `tokenizer.ggml.*` vocabulary.
//
// A GGUF made from a Llama model carries the pieces, scores and token types of its SentencePiece
// model but not the model file itself. For `tokenizer.ggml.model = "llama"` llama.cpp encodes
// as SentencePiece BPE with byte fallback and the normalizer Llama's tokenizer uses: identity
// (no Unicode normalization), a dummy "▁" prefix, spaces escaped to "▁" and runs of spaces kept.
// The same settings here give a ModelProto that the tokenizer in src/tokenizer/ loads, so
// `tsgpt generate --model x.gguf` needs no separate .model file.
import type { Checkpoint, EmbeddedVocab } from "./types.js";
import { ModelType, PieceType, serializeModelProto, type ModelProto, type SentencePiece } from "../tokenizer/model_proto.js";
import { SentencePieceCore } from "../tokenizer/processor_core.js";

const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

/** The type of piece i: the vocabulary's own when it has types, else inferred from ids and spelling. */
function pieceType(v: EmbeddedVocab, i: number): number {
  const t = v.tokenTypes?.[i];
  if (t !== undefined) return t;
  if (i === v.unkId) return PieceType.UNKNOWN;
  if (i === v.bosId || i === v.eosId || i === v.padId) return PieceType.CONTROL;
  return BYTE_PIECE.test(v.tokens[i]!) ? PieceType.BYTE : PieceType.NORMAL;
}

/**
 * A SentencePiece ModelProto for an embedded llama-style vocabulary. `source` names the file in
 * errors. Throws when the vocabulary is not a SentencePiece one (e.g. GPT-2's byte-level BPE).
 */
export function modelProtoFromVocab(v: EmbeddedVocab, source: string): ModelProto {
  if (v.model !== "llama") {
    throw new Error(
      `${source}: tokenizer.ggml.model is '${v.model}'; only 'llama' (SentencePiece BPE) vocabularies can be used as a tokenizer, pass a .model with --tokenizer`,
    );
  }
  if (v.tokens.length === 0) throw new Error(`${source}: tokenizer.ggml.tokens is empty`);
  const types = v.tokens.map((_, i) => pieceType(v, i));
  for (const [i, t] of types.entries()) {
    if (!Number.isInteger(t) || t < PieceType.NORMAL || t > PieceType.BYTE) {
      throw new Error(`${source}: tokenizer.ggml.token_type[${i}] is ${t}, expected 1 … 6`);
    }
  }
  const unkId = v.unkId ?? types.indexOf(PieceType.UNKNOWN);
  if (unkId < 0 || types[unkId] !== PieceType.UNKNOWN) {
    throw new Error(
      `${source}: the vocabulary has no unknown piece (tokenizer.ggml.unknown_token_id / token type 2); SentencePiece needs one`,
    );
  }
  const pieces: SentencePiece[] = v.tokens.map((piece, i) => {
    const p: SentencePiece = { piece, score: v.scores?.[i] ?? 0 };
    if (types[i] !== PieceType.NORMAL) p.type = types[i]!;
    return p;
  });
  return {
    pieces,
    trainerSpec: {
      modelType: ModelType.BPE,
      vocabSize: pieces.length,
      byteFallback: types.includes(PieceType.BYTE),
      unkId,
      bosId: v.bosId ?? -1,
      eosId: v.eosId ?? -1,
      padId: v.padId ?? -1,
    },
    normalizerSpec: { name: "identity", addDummyPrefix: true, removeExtraWhitespaces: false, escapeWhitespaces: true },
  };
}

/** A SentencePiece processor for an embedded vocabulary (see modelProtoFromVocab); it reads and writes no file. */
export function tokenizerFromVocab(v: EmbeddedVocab, source: string): SentencePieceCore {
  return SentencePieceCore.fromBytes(serializeModelProto(modelProtoFromVocab(v, source)), `${source} (embedded vocabulary)`);
}

/** The tokenizer embedded in a checkpoint (GGUF's tokenizer.ggml.*); throws when it has none. */
export function tokenizerForCheckpoint(ckpt: Checkpoint): SentencePieceCore {
  if (!ckpt.vocab) {
    throw new Error(
      `${ckpt.source.path}: no SentencePiece tokenizer (.model) found beside the weights and none embedded in them; pass one with --tokenizer / tokenizerPath`,
    );
  }
  return tokenizerFromVocab(ckpt.vocab, ckpt.source.path);
}
