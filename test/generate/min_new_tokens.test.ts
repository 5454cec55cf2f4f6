// minNewTokens (HF's min_new_tokens): end-of-text tokens are banned until that many tokens exist.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TextGenerator } from "../../src/generate/index.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

test("minNewTokens keeps a row going past its end-of-text token", {
  skip: skipUnlessShared("models", "stories260K", "stories260K.bin"),
}, async () => {
  const gen = await TextGenerator.load(sharedPath("models", "stories260K", "stories260K.bin"));
  const free = await gen.generate("Once upon a time", { temperature: 0, maxNewTokens: 8 });
  const eos = free.tokens[2]!; // pretend the third greedy token ends the text
  const first = free.tokens.indexOf(eos);
  const ended = await gen.generate("Once upon a time", { temperature: 0, maxNewTokens: 8, eosTokenId: eos });
  assert.equal(ended.finishReason, "eos");
  assert.equal(ended.tokens.length, first);
  const kept = await gen.generate("Once upon a time", { temperature: 0, maxNewTokens: 8, eosTokenId: eos, minNewTokens: 6 });
  assert.ok(kept.tokens.length >= 6, `${kept.tokens.length} tokens`);
  assert.ok(!kept.tokens.slice(0, 6).includes(eos), "no end-of-text among the first 6");
  assert.deepEqual(kept.tokens.slice(0, first), free.tokens.slice(0, first), "the same text up to where it would have ended");
  await assert.rejects(async () => gen.generate("x", { minNewTokens: -1 }), /minNewTokens/);
});
