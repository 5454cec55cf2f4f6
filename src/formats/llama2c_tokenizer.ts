// llama2.c's `tokenizer.bin`: the vocabulary of a SentencePiece model, flattened for run.c.
//
//   int32 max_token_length
//   then, for each id in order until the end of the file:
//     float32 score | int32 byte length | the piece's UTF-8 bytes (no terminator)
//
// Pieces use a plain space where SentencePiece writes U+2581 ("▁"); id 1 (BOS) is stored as
// "\n<s>\n" and id 2 (EOS) as "\n</s>\n". The caller decides how to map them back.
import { SequentialReader, withBinaryFile } from "./binary.js";
import { FormatError } from "../util/errors.js";
import { writeAll, writeFileAtomic } from "../util/atomic_write.js";

export interface Llama2cVocab {
  maxTokenLength: number;
  pieces: string[];
  scores: Float32Array;
}

/** Reads a llama2.c tokenizer.bin; with `vocabSize`, the number of pieces must match it. */
export function readLlama2cTokenizer(path: string, vocabSize?: number): Llama2cVocab {
  return withBinaryFile(path, (file) => {
    const fail = (field: string, msg: string): never => {
      throw new FormatError(path, field, msg);
    };
    const r = new SequentialReader(file);
    if (file.size < 4) fail("max_token_length", `expected a 4-byte int32 header, the file has ${file.size} bytes`);
    const maxTokenLength = r.i32("max_token_length");
    if (maxTokenLength <= 0 || maxTokenLength > file.size)
      fail("max_token_length", `expected a positive length no larger than the file, got ${maxTokenLength}`);
    const pieces: string[] = [];
    const scores: number[] = [];
    while (r.pos < file.size) {
      const id = pieces.length;
      const score = r.f32(`token ${id} score`);
      if (Number.isNaN(score)) fail(`token ${id} score`, "expected a number, got NaN");
      const len = r.i32(`token ${id} length`);
      if (len < 0 || len > maxTokenLength) fail(`token ${id} length`, `expected 0..${maxTokenLength} (max_token_length), got ${len}`);
      pieces.push(r.utf8(len, `token ${id} bytes`));
      scores.push(score);
    }
    if (vocabSize !== undefined && pieces.length !== vocabSize) {
      fail("vocabulary", `expected ${vocabSize} tokens (the model's vocab_size), the file has ${pieces.length}`);
    }
    if (pieces.length === 0) fail("vocabulary", "expected at least one token");
    return { maxTokenLength, pieces, scores: Float32Array.from(scores) };
  });
}

/** Writes a llama2.c tokenizer.bin atomically (max_token_length computed from the pieces). */
export function writeLlama2cTokenizer(path: string, vocab: { pieces: string[]; scores: ArrayLike<number> }): void {
  if (vocab.pieces.length !== vocab.scores.length)
    throw new Error(`tokenizer.bin: ${vocab.pieces.length} pieces but ${vocab.scores.length} scores`);
  const encoded = vocab.pieces.map((p) => Buffer.from(p, "utf8"));
  const maxLen = Math.max(1, ...encoded.map((b) => b.length));
  const out = Buffer.alloc(4 + encoded.reduce((a, b) => a + 8 + b.length, 0));
  out.writeInt32LE(maxLen, 0);
  let at = 4;
  encoded.forEach((b, i) => {
    out.writeFloatLE(vocab.scores[i]!, at);
    out.writeInt32LE(b.length, at + 4);
    b.copy(out, at + 8);
    at += 8 + b.length;
  });
  writeFileAtomic(path, (fd) => writeAll(fd, out));
}
