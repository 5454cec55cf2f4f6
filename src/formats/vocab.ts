// A tokenizer's vocabulary (pieces, scores, types, special ids) as GGUF embeds it, read from a
// SentencePiece `.model` or a llama2.c `tokenizer.bin`. Only the vocabulary is read here; the
// tokenizer itself (normalizer, encoders) lives in src/tokenizer/.
import type { EmbeddedVocab } from "./types.js";
import { FormatError } from "../util/errors.js";
import { withBinaryFile } from "./binary.js";
import { readLlama2cTokenizer } from "./llama2c_tokenizer.js";
import { parseModelProto, pieceTypeOf, ProtoError, trainerSpecWithDefaults, type ModelProto } from "../tokenizer/model_proto.js";

const NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  BYTE = 6; // SentencePiece piece types
const MAX_MODEL_BYTES = 256 * 1024 * 1024;

/** The vocabulary of a tokenizer file: `.model` (SentencePiece) or llama2.c `tokenizer.bin`. */
export function readVocab(path: string): EmbeddedVocab {
  return path.endsWith(".model") ? readSentencePieceVocab(path) : vocabFromLlama2c(path);
}

/**
 * A llama2.c tokenizer.bin as a SentencePiece-style vocabulary: spaces back to U+2581, BOS / EOS
 * pieces ("\n<s>\n", "\n</s>\n") back to "<s>" / "</s>", types inferred (llama2.c drops them).
 */
export function vocabFromLlama2c(path: string): EmbeddedVocab {
  const v = readLlama2cTokenizer(path);
  const tokens = v.pieces.map((p, i) =>
    i === 1 && p === "\n<s>\n" ? "<s>" : i === 2 && p === "\n</s>\n" ? "</s>" : p.replaceAll(" ", "\u2581"),
  );
  const tokenTypes = Int32Array.from(tokens, (p, i) =>
    i === 0 ? UNKNOWN : i === 1 || i === 2 ? CONTROL : /^<0x[0-9A-F]{2}>$/.test(p) ? BYTE : NORMAL,
  );
  return { model: "llama", tokens, scores: v.scores, tokenTypes, unkId: 0, bosId: 1, eosId: 2 };
}

/**
 * Pieces, scores, types and special ids (from the TrainerSpec) of a SentencePiece `.model`,
 * parsed by the tokenizer's own ModelProto reader.
 */
export function readSentencePieceVocab(path: string): EmbeddedVocab {
  const bytes = withBinaryFile(path, (f) => {
    if (f.size > MAX_MODEL_BYTES) throw new FormatError(path, "file", `${f.size} bytes is too large for a SentencePiece model`);
    return f.read(0, f.size, "ModelProto");
  });
  let proto: ModelProto;
  try {
    proto = parseModelProto(bytes, path);
  } catch (err) {
    if (err instanceof ProtoError)
      throw new FormatError(path, "ModelProto", `not a valid SentencePiece model (${err.message.replace(`${path}: `, "")})`);
    throw err;
  }
  const { pieces } = proto;
  if (pieces.length === 0) throw new FormatError(path, "pieces", "expected a SentencePiece model with at least one piece");
  const vocab: EmbeddedVocab = {
    model: "llama",
    tokens: pieces.map((p) => p.piece),
    scores: Float32Array.from(pieces, (p) => p.score ?? 0),
    tokenTypes: Int32Array.from(pieces, pieceTypeOf),
  };
  // A special id of -1 (or out of range) means the model has no such token.
  const spec = trainerSpecWithDefaults(proto.trainerSpec);
  const inRange = (n: number) => Number.isInteger(n) && n >= 0 && n < pieces.length;
  if (inRange(spec.unkId)) vocab.unkId = spec.unkId;
  if (inRange(spec.bosId)) vocab.bosId = spec.bosId;
  if (inRange(spec.eosId)) vocab.eosId = spec.eosId;
  if (inRange(spec.padId)) vocab.padId = spec.padId;
  return vocab;
}
