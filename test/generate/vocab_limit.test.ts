// Generation never picks an id the tokenizer cannot decode, even when the model has more
// embeddings than the tokenizer has pieces (a vocab_size rounded up to a multiple of 64).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { DecoderModel } from "../../src/generate/decoder.js";
import { generate, type GenerationTokenizer } from "../../src/generate/generate.js";
import { tinyLlama } from "./tiny_models.js";

const PIECES = 40; // the tokenizer's size
const EMBEDDINGS = 64; // the model's vocab_size, padded

/**
 * A tokenizer stand-in with PIECES pieces whose decoder refuses ids it does not know, as a
 * strict tokenizer would. `reportSize: false` hides its size (and accepts every id), to show
 * what the model samples when the loop is not told the limit.
 */
function standIn(reportSize: boolean): GenerationTokenizer {
  const piece = (id: number) => {
    if (reportSize && id >= PIECES) throw new RangeError(`id ${id} is not a piece`);
    return `<${id}>`;
  };
  return {
    encodeAsIds: (text) => Array.from(text, (ch) => 3 + (ch.codePointAt(0)! % (PIECES - 3))),
    decode: (ids) => ids.map(piece).join(""),
    bosId: 1,
    eosId: -1,
    createStreamDecoder: () => ({ push: piece, flush: () => "" }),
    ...(reportSize ? { vocabSize: PIECES } : {}),
  };
}

describe("vocabLimit", () => {
  const model = DecoderModel.fromCheckpoint(tinyLlama(7, { vocab: EMBEDDINGS, context: 256 }));
  const options = { maxNewTokens: 200, temperature: 1.5, seed: 3, eosTokenId: [] as number[] };

  test("the model has more embeddings than the tokenizer has pieces", () => {
    assert.equal(model.dims.vocabSize, EMBEDDINGS);
  });

  test("without a limit, the model does sample ids past the tokenizer (the case the mask is for)", async () => {
    const r = await generate(model, standIn(false), "hello", options);
    assert.equal(r.tokens.length, 200);
    assert.ok(
      r.tokens.some((id) => id >= PIECES),
      "expected some ids >= PIECES from an unmasked model",
    );
  });

  test("200 sampled tokens are all below the tokenizer's vocabSize", async () => {
    const r = await generate(model, standIn(true), "hello", options);
    assert.equal(r.tokens.length, 200);
    for (const id of r.tokens) assert.ok(id >= 0 && id < PIECES, `sampled id ${id} >= ${PIECES}`);
  });

  test("an explicit vocabLimit applies to a tokenizer that does not report its size", async () => {
    const r = await generate(model, standIn(false), "hello", { ...options, vocabLimit: 10 });
    for (const id of r.tokens) assert.ok(id < 10, `sampled id ${id} >= 10`);
  });

  test("greedy decoding is masked too", async () => {
    const r = await generate(model, standIn(true), "hello", { ...options, temperature: 0 });
    for (const id of r.tokens) assert.ok(id < PIECES, `greedy id ${id} >= ${PIECES}`);
  });

  test("a vocabLimit outside [1, model vocabulary] is refused, naming the option", async () => {
    await assert.rejects(
      generate(model, standIn(true), "hello", { vocabLimit: EMBEDDINGS + 1 }),
      /vocabLimit: expected an integer in \[1, 64\]/,
    );
    await assert.rejects(generate(model, standIn(true), "hello", { vocabLimit: 0 }), /vocabLimit/);
  });
});
