// Batch encoding with padding, truncation and attention masks (ids from the golden vectors).
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeBatch } from "../../src/tokenizer/batch.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { skipUnlessShared } from "../helpers/shared.js";
import { loadVectors, modelPath } from "./vector_cases.js";

const skip = skipUnlessShared("testdata", "tokenizer", "llama2.model");

test("padding to the longest, right and left, with masks and lengths", { skip }, () => {
  const sp = SentencePieceProcessor.load(modelPath("llama2"));
  const cases = loadVectors("llama2")
    .filter((c) => c.ids.length > 0)
    .slice(0, 5);
  const texts = cases.map((c) => c.text);
  const longest = Math.max(...cases.map((c) => c.ids.length));
  const right = encodeBatch(sp, texts, { padding: "longest", padId: sp.eosId });
  assert.deepEqual(
    right.lengths,
    cases.map((c) => c.ids.length),
  );
  cases.forEach((c, i) => {
    const pad = longest - c.ids.length;
    assert.deepEqual(right.inputIds[i], [...c.ids, ...Array(pad).fill(sp.eosId)]);
    assert.deepEqual(right.attentionMask[i], [...Array(c.ids.length).fill(1), ...Array(pad).fill(0)]);
  });
  const left = encodeBatch(sp, texts, { padding: "longest", padId: 0, paddingSide: "left", addBos: true });
  cases.forEach((c, i) => {
    const pad = longest - c.ids.length;
    assert.deepEqual(left.inputIds[i], [...Array(pad).fill(0), sp.bosId, ...c.ids]);
    assert.deepEqual(left.attentionMask[i], [...Array(pad).fill(0), ...Array(c.ids.length + 1).fill(1)]);
  });
});

test("max_length padding and truncation", { skip }, () => {
  const sp = SentencePieceProcessor.load(modelPath("llama2"));
  const ids = sp.encodeAsIds("The quick brown fox jumps over the lazy dog", { addEos: true });
  const r = encodeBatch(sp, ["The quick brown fox jumps over the lazy dog", "Hi"], {
    padding: "max_length",
    maxLength: 4,
    truncation: true,
    padId: 0,
    addEos: true,
  });
  assert.deepEqual(r.inputIds[0], ids.slice(0, 4));
  assert.deepEqual(r.lengths, [4, sp.encodeAsIds("Hi", { addEos: true }).length]);
  assert.equal(r.inputIds[1]!.length, 4);
  const tl = encodeBatch(sp, ["The quick brown fox jumps over the lazy dog"], {
    maxLength: 3,
    truncation: true,
    truncationSide: "left",
    addEos: true,
  });
  assert.deepEqual(tl.inputIds[0], ids.slice(-3));
  assert.deepEqual(tl.attentionMask[0], [1, 1, 1]);
  assert.throws(() => encodeBatch(sp, ["a b c d e f g"], { padding: "max_length", maxLength: 2, padId: 0 }), /truncation/);
  assert.throws(() => encodeBatch(sp, ["a"], { padding: "max_length" }), /maxLength/);
});

test("no padding: ragged rows; padding without any pad id is a clear error", { skip }, () => {
  const sp = SentencePieceProcessor.load(modelPath("llama2"));
  const r = encodeBatch(sp, ["Hello", "Hello world"]);
  assert.deepEqual(r.inputIds, [sp.encodeAsIds("Hello"), sp.encodeAsIds("Hello world")]);
  assert.equal(sp.padId, -1);
  assert.throws(() => encodeBatch(sp, ["Hello", "Hello world"], { padding: "longest" }), /no <pad> piece.*padId/);
  assert.throws(() => encodeBatch(sp, ["ok", 3 as unknown as string]), TypeError);
});
