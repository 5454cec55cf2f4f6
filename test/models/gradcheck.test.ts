// The gradient of a whole tiny model (loss on a padded batch) agrees with central finite
// differences, for GPT-2 and for Llama with grouped-query attention.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createModel, type CausalLM, type ModelConfig } from "../../src/models/index.js";
import { Generator, noGrad } from "../../src/tensor/index.js";
import { ids2d, randomizeParameters, tinyGPT2Config, tinyLlamaConfig } from "./tiny.js";

// Row 0 is left-padded, row 1 right-padded, row 2 full; labels are −100 at pads.
const PAD = 0;
const IDS = [
  [PAD, PAD, 5, 9, 14, 3, 7, 21],
  [4, 18, 2, 11, 6, PAD, PAD, PAD],
  [13, 1, 19, 8, 22, 10, 15, 12],
];
const MASK = IDS.map((row, r) => row.map((id, t) => ((r === 0 ? t >= 2 : r === 1 ? t < 5 : true) ? 1 : 0)));
const LABELS = IDS.map((row, r) => row.map((id, t) => (MASK[r]![t] ? id : -100)));

function lossOf(model: CausalLM): number {
  return noGrad(() => model.forward(ids2d(IDS), { attentionMask: ids2d(MASK), labels: ids2d(LABELS) }).loss!.item());
}

function gradCheck(config: ModelConfig, seed: number): void {
  const model = createModel(config, { seed });
  randomizeParameters(model, seed + 100, 0.3);
  const out = model.forward(ids2d(IDS), { attentionMask: ids2d(MASK), labels: ids2d(LABELS) });
  assert.ok(Number.isFinite(out.loss!.item()));
  out.loss!.backward();

  const gen = new Generator(seed);
  const h = 1e-2;
  let checked = 0;
  for (const [name, p] of model.namedParameters()) {
    assert.ok(p.grad, `${name} has no gradient`);
    const g = p.grad!.data() as Float32Array;
    const v = p.storage as Float32Array;
    for (let n = 0; n < 2; n++) {
      const i = Math.floor(gen.random() * v.length);
      const orig = v[i]!;
      v[i] = orig + h;
      const up = lossOf(model);
      v[i] = orig - h;
      const down = lossOf(model);
      v[i] = orig;
      const numeric = (up - down) / (2 * h);
      const tol = 2e-3 + 3e-2 * Math.abs(numeric);
      assert.ok(Math.abs(numeric - g[i]!) <= tol, `${name}[${i}]: autograd ${g[i]} vs finite difference ${numeric}`);
      checked++;
    }
  }
  assert.ok(checked >= 20);
}

test("GPT-2: whole-model gradient matches finite differences (padded batch)", () => {
  gradCheck(tinyGPT2Config(), 1);
});

test("GPT-2 without biases: gradient matches finite differences", () => {
  gradCheck(tinyGPT2Config({ bias: false }), 2);
});

test("Llama with GQA (4 heads, 2 kv heads), untied head: gradient matches finite differences", () => {
  gradCheck(tinyLlamaConfig(), 3);
});

test("Llama, tied head: gradient matches finite differences", () => {
  gradCheck(tinyLlamaConfig({ tie_word_embeddings: true, num_key_value_heads: 1 }), 4);
});
