// Frequency and presence penalties (OpenAI's rule) as sampling options: the formula on hand
// numbers, their place after the repetition penalty, and a whole generation checked against a
// hand-written greedy decode loop on the model's own logits.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { DecoderModel } from "../../src/generate/decoder.js";
import { generate, type GenerationTokenizer } from "../../src/generate/generate.js";
import { explainStep } from "../../src/generate/explain.js";
import {
  frequencyPenalty,
  presencePenalty,
  processLogits,
  resolveSamplingOptions,
  sampleToken,
  softmax,
} from "../../src/generate/sampling.js";
import { applyPenalties, TokenCounts } from "../../src/serve/penalties.js";
import { Generator } from "../../src/tensor/random.js";
import { tinyLlama } from "./tiny_models.js";

describe("frequency and presence penalties", () => {
  test("logit[j] -= frequency × count[j] + presence × [count[j] > 0]", () => {
    const l = Float32Array.from([1, 2, 3, 4, 5]);
    frequencyPenalty(l, [1, 1, 3], 0.5);
    assert.deepEqual(Array.from(l), [1, 1, 3, 3.5, 5]);
    presencePenalty(l, [1, 1, 3], 0.25);
    assert.deepEqual(Array.from(l), [1, 0.75, 3, 3.25, 5]);
    // Negative values encourage repeats; ids outside the vocabulary are ignored.
    const m = Float32Array.from([0, 0]);
    frequencyPenalty(m, [0, 0, 7, -1], -1);
    assert.deepEqual(Array.from(m), [2, 0]);
  });

  test("they count generated tokens only, and run after the repetition penalty", () => {
    const o = resolveSamplingOptions({ repetitionPenalty: 2, frequencyPenalty: 1, presencePenalty: 0.5 });
    const out = processLogits(Float32Array.from([0, 2, 3, 4, 6]), o, { promptIds: [4, 1], generatedIds: [1, 1, 2] }, []);
    // token 1: 2 / 2 (repetition) - 2 × 1 - 0.5 = -1.5  (penalties first would give (2 - 2.5) × 2 = -1)
    // token 2: 3 / 2 - 1 - 0.5 = 0;  token 4: prompt only, 6 / 2 = 3;  tokens 0 and 3 untouched.
    assert.deepEqual(Array.from(out), [0, -1.5, 0, 4, 3]);
  });

  test("they change greedy choices", () => {
    const o = resolveSamplingOptions({ temperature: 0, presencePenalty: 1.5 });
    const l = Float32Array.from([0, 3, 2]);
    assert.equal(sampleToken(l, o, new Generator(1), { promptIds: [], generatedIds: [] }), 1);
    assert.equal(sampleToken(l, o, new Generator(1), { promptIds: [], generatedIds: [1] }), 2);
  });

  test("a plain list of previous tokens cannot feed them (which ones were generated?)", () => {
    const o = resolveSamplingOptions({ frequencyPenalty: 1 });
    assert.throws(() => processLogits(Float32Array.from([0, 1]), o, [1]), /frequencyPenalty.*generatedIds/);
  });

  test("bad values are refused with the option's name", () => {
    assert.throws(() => resolveSamplingOptions({ frequencyPenalty: Number.NaN }), /frequencyPenalty: expected a finite number/);
    assert.throws(() => resolveSamplingOptions({ presencePenalty: Infinity }), /presencePenalty/);
  });

  test("explainStep shows their effect on the probabilities", () => {
    const logits = Float32Array.from([1, 1, 1]);
    const e = explainStep(logits, { frequencyPenalty: 1, previousTokens: { promptIds: [0], generatedIds: [2] } }, 3);
    const expected = softmax(Float32Array.from([1, 1, 0]));
    for (const c of e.candidates) assert.ok(Math.abs(c.probabilityAfterTemperature - expected[c.token]!) < 1e-12);
  });

  test("the deprecated server names (applyPenalties, TokenCounts) apply the same rule", () => {
    const counts = new TokenCounts();
    for (const t of [1, 1, 3]) counts.add(t);
    const old = Float32Array.from([1, 2, 3, 4, 5]);
    applyPenalties(old, counts, { frequency: 0.5, presence: 0.25 });
    assert.deepEqual(Array.from(old), [1, 0.75, 3, 3.25, 5]);
  });
});

describe("penalties in the generation loop", () => {
  const V = 40;
  const tokenizer: GenerationTokenizer = {
    encodeAsIds: (text) => Array.from(text, (ch) => 3 + (ch.codePointAt(0)! % (V - 3))),
    decode: (ids) => ids.map((id) => `<${id}>`).join(""),
    bosId: 1,
    eosId: -1,
    vocabSize: V,
    createStreamDecoder: () => ({ push: (id) => `<${id}>`, flush: () => "" }),
  };
  const model = DecoderModel.fromCheckpoint(tinyLlama(3, { vocab: V, context: 128 }));

  test("greedy generation equals a hand-written decode loop subtracting freq × count + pres × [count > 0]", async () => {
    const prompt = [1, 5, 6, 7, 5];
    const freq = 1.5,
      pres = 0.7,
      steps = 30;
    const cache = model.createCache(1, prompt.length + steps);
    let logits = model.forward(
      cache,
      Int32Array.from(prompt),
      Int32Array.from(prompt.keys()),
      new Uint8Array(prompt.length).fill(1),
      prompt.length,
    );
    const counts = new Map<number, number>();
    const expected: number[] = [];
    for (let i = 0; i < steps; i++) {
      const adjusted = Array.from(logits, (l, t) => l - freq * (counts.get(t) ?? 0) - (counts.has(t) ? pres : 0));
      const next = adjusted.indexOf(Math.max(...adjusted));
      expected.push(next);
      counts.set(next, (counts.get(next) ?? 0) + 1);
      logits = model.forward(cache, Int32Array.of(next), Int32Array.of(prompt.length + i), Uint8Array.of(1), 1);
    }
    const r = await generate(model, tokenizer, prompt, {
      temperature: 0,
      maxNewTokens: steps,
      frequencyPenalty: freq,
      presencePenalty: pres,
    });
    assert.deepEqual(r.tokens, expected);
    const plain = await generate(model, tokenizer, prompt, { temperature: 0, maxNewTokens: steps });
    assert.notDeepEqual(plain.tokens, expected, "the penalties change this output");
  });
});
