// A prompt far beyond the context is refused after encoding only a prefix of it; a prompt that
// fits is never refused by the probe.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TextGenerator } from "../../src/generate/index.js";
import { tokensBeyond } from "../../src/generate/prompt_budget.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

describe("prompt budget", { skip: skipUnlessShared("models", "stories260K", "stories260K.bin") }, () => {
  test("a 1 MB prompt is refused in well under a second, naming the context", async () => {
    const gen = await TextGenerator.load(sharedPath("models", "stories260K", "stories260K.bin"));
    const text = "Once upon a time there was a little girl. ".repeat(25_000);
    const t0 = performance.now();
    await assert.rejects(gen.generate(text, { maxNewTokens: 2 }), /more than \d+ tokens, more than the model's context of 512/);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
  });

  test("the probe's count is the true count of the prefix, and texts that fit pass", async () => {
    const gen = await TextGenerator.load(sharedPath("models", "stories260K", "stories260K.bin"));
    const encode = (s: string) => gen.tokenizer.encodeAsIds(s);
    const words = ["Lily", "saw", "a", "big", "red", "ball.", "She", "was", "happy!", "\n", "The", "dog", "ran"];
    let text = "";
    for (let i = 0; text.length < 20_000; i++) text += `${words[(i * 7 + 3) % words.length]} `;
    const whole = encode(text).length;
    // Within the budget: never refused.
    assert.equal(tokensBeyond(text, whole, encode), null);
    // Beyond it: the probe counts a prefix, which is at most the whole and more than the budget.
    const beyond = tokensBeyond(text, 200, encode);
    assert.ok(beyond !== null && beyond > 200 && beyond <= whole, `${beyond} of ${whole}`);
    // Short texts are always encoded whole.
    assert.equal(tokensBeyond("Once upon a time", 1, encode), null);
  });
});
