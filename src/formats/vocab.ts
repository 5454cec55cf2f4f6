// A tokenizer's vocabulary (pieces, scores, types, special ids) as GGUF embeds it, read from a
// SentencePiece `.model` or a llama2.c `tokenizer.bin`. Only the vocabulary is read here; the
// tokenizer itself (normalizer, encoders) lives in src/tokenizer/.
import { readFileSync, statSync } from "node:fs";
import type { EmbeddedVocab } from "./types.js";
import { FormatError } from "./errors.js";
import { readLlama2cTokenizer } from "./llama2c_tokenizer.js";

const NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6;
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
  const tokens = v.pieces.map((p, i) => (i === 1 && p === "\n<s>\n" ? "<s>" : i === 2 && p === "\n</s>\n" ? "</s>" : p.replaceAll(" ", "\u2581")));
  const tokenTypes = Int32Array.from(tokens, (p, i) =>
    i === 0 ? UNKNOWN : i === 1 || i === 2 ? CONTROL : /^<0x[0-9A-F]{2}>$/.test(p) ? BYTE : NORMAL);
  return { model: "llama", tokens, scores: v.scores, tokenTypes, unkId: 0, bosId: 1, eosId: 2 };
}

/**
 * Reads pieces, scores and types of a SentencePiece ModelProto (field 1: repeated SentencePiece
 * {1: piece, 2: score, 3: type}) and the special ids of its TrainerSpec (field 2: 40 unk_id,
 * 41 bos_id, 42 eos_id, 43 pad_id). Other fields are skipped.
 */
export function readSentencePieceVocab(path: string): EmbeddedVocab {
  const size = statSync(path).size;
  if (size > MAX_MODEL_BYTES) throw new FormatError(path, "file", `${size} bytes is too large for a SentencePiece model`);
  const buf = readFileSync(path);
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const ids = { unk: 0, bos: 1, eos: 2, pad: -1 };
  const decoder = new TextDecoder("utf-8", { fatal: true });
  walk(path, buf, 0, buf.length, "ModelProto", (field, wire, start, end, value) => {
    if (field === 1 && wire === 2) {
      let piece = "", score = 0, type = NORMAL;
      walk(path, buf, start, end, `pieces[${tokens.length}]`, (f, w, s, e, v) => {
        if (f === 1 && w === 2) {
          try { piece = decoder.decode(buf.subarray(s, e)); } catch { throw new FormatError(path, `pieces[${tokens.length}].piece`, "expected UTF-8 text"); }
        } else if (f === 2 && w === 5) score = buf.readFloatLE(s);
        else if (f === 3 && w === 0) type = Number(v);
      });
      tokens.push(piece);
      scores.push(score);
      types.push(type);
    } else if (field === 2 && wire === 2) {
      walk(path, buf, start, end, "trainer_spec", (f, w, _s, _e, v) => {
        if (w !== 0) return;
        const n = Number(BigInt.asIntN(32, v)); // int32 fields: negative values are 10-byte varints
        if (f === 40) ids.unk = n;
        else if (f === 41) ids.bos = n;
        else if (f === 42) ids.eos = n;
        else if (f === 43) ids.pad = n;
      });
    }
  });
  if (tokens.length === 0) throw new FormatError(path, "pieces", "expected a SentencePiece model with at least one piece");
  const vocab: EmbeddedVocab = { model: "llama", tokens, scores: Float32Array.from(scores), tokenTypes: Int32Array.from(types) };
  // A special id of -1 (or out of range) means the model has no such token.
  const inRange = (n: number) => n >= 0 && n < tokens.length;
  if (inRange(ids.unk)) vocab.unkId = ids.unk;
  if (inRange(ids.bos)) vocab.bosId = ids.bos;
  if (inRange(ids.eos)) vocab.eosId = ids.eos;
  if (inRange(ids.pad)) vocab.padId = ids.pad;
  return vocab;
}

type FieldVisitor = (field: number, wire: number, start: number, end: number, varint: bigint) => void;

/** Visits the fields of one protobuf message in buf[start, end), bounds-checked. */
function walk(path: string, buf: Buffer, start: number, end: number, what: string, visit: FieldVisitor): void {
  let pos = start;
  const varint = (): bigint => {
    let result = 0n, shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new FormatError(path, what, "truncated varint");
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new FormatError(path, what, "varint longer than 10 bytes");
  };
  while (pos < end) {
    const key = varint();
    const field = Number(key >> 3n), wire = Number(key & 7n);
    let s = pos, e = pos, v = 0n;
    if (wire === 0) v = varint();
    else if (wire === 1) e = s + 8;
    else if (wire === 5) e = s + 4;
    else if (wire === 2) {
      const len = varint();
      s = pos;
      if (len > BigInt(end - s)) throw new FormatError(path, what, `field ${field} length ${len} runs past the end of the message`);
      e = s + Number(len);
    } else throw new FormatError(path, what, `unsupported protobuf wire type ${wire} (not a SentencePiece model?)`);
    if (wire !== 0) {
      if (e > end) throw new FormatError(path, what, `field ${field} runs past the end of the message`);
      pos = e;
    }
    visit(field, wire, s, e, v);
  }
}
