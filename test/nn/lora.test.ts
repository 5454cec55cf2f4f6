// LoRALinear and addLoRA: the forward pass against the formula computed by hand, the
// initialisation, which parameters train, merge / unmerge, and the whole-model identity
// "merged model = base + adapter" for Llama and GPT-2.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Generator, Tensor, noGrad, randn } from "../../src/tensor/index.js";
import { Linear } from "../../src/nn/index.js";
import {
  LoRALinear,
  addLoRA,
  countParameters,
  formatTrainableParameters,
  loraLayers,
  loraParameters,
  mergeLoRA,
  unmergeLoRA,
} from "../../src/nn/lora.js";
import { GPT2LMHeadModel, LlamaForCausalLM, type CausalLM } from "../../src/models/index.js";
import { ids2d, randomizeParameters, relDiff, tinyGPT2Config, tinyLlamaConfig } from "../models/tiny.js";

/** Gives every B random values so the adapter changes the output (B starts at zero). */
function randomizeB(model: CausalLM | LoRALinear, seed: number): void {
  const gen = new Generator(seed);
  const layers = model instanceof LoRALinear ? [model] : loraLayers(model).map(([, l]) => l);
  noGrad(() => {
    for (const l of layers) gen.fillNormal(l.lora_B.weight.storage as Float32Array, 0, 0.5);
  });
}

describe("LoRALinear", () => {
  test("forward is x·Wᵀ + b + (alpha/r)·x·Aᵀ·Bᵀ, computed here with plain loops", () => {
    const base = new Linear(5, 7, { generator: new Generator(1), std: 0.5 });
    const lora = new LoRALinear(base, { r: 3, alpha: 6, generator: new Generator(2) });
    randomizeB(lora, 3);
    const x = randn([2, 4, 5], { generator: new Generator(4) });
    const y = lora.forward(x).data() as Float32Array;
    const xs = x.data() as Float32Array;
    const W = base.weight.data() as Float32Array;
    const b = base.bias!.data() as Float32Array;
    const A = lora.lora_A.weight.data() as Float32Array;
    const B = lora.lora_B.weight.data() as Float32Array;
    for (let n = 0; n < 8; n++) {
      const ax = [0, 1, 2].map((k) => [0, 1, 2, 3, 4].reduce((s, i) => s + A[k * 5 + i]! * xs[n * 5 + i]!, 0));
      for (let o = 0; o < 7; o++) {
        let want = b[o]!;
        for (let i = 0; i < 5; i++) want += W[o * 5 + i]! * xs[n * 5 + i]!;
        for (let k = 0; k < 3; k++) want += 2 * B[o * 3 + k]! * ax[k]!;
        assert.ok(Math.abs(y[n * 7 + o]! - want) < 1e-5, `y[${n}, ${o}] = ${y[n * 7 + o]}, expected ${want}`);
      }
    }
  });

  test("initialisation: B = 0 (output equals the base layer), A uniform in ±1/√in as kaiming_uniform_(a=√5)", () => {
    const base = new Linear(64, 8, { generator: new Generator(1) });
    const lora = new LoRALinear(base, { r: 4, generator: new Generator(5) });
    const x = randn([3, 64], { generator: new Generator(6) });
    assert.deepEqual(lora.forward(x).data(), base.forward(x).data());
    assert.ok((lora.lora_B.weight.data() as Float32Array).every((v) => v === 0));
    const A = lora.lora_A.weight.data() as Float32Array;
    const bound = 1 / Math.sqrt(64);
    // Same stream as the generator's uniforms, mapped to [−bound, bound).
    const u = new Float32Array(A.length);
    new Generator(5).fillUniform(u);
    for (let i = 0; i < A.length; i++) {
      assert.ok(Math.abs(A[i]!) <= bound);
      assert.ok(Math.abs(A[i]! - (2 * u[i]! - 1) * bound) < 1e-7);
    }
  });

  test("gradients reach A and B only; the base weight and bias get none", () => {
    const base = new Linear(6, 4, { generator: new Generator(1) });
    const lora = new LoRALinear(base, { r: 2, generator: new Generator(2) });
    randomizeB(lora, 3);
    const x = randn([5, 6], { generator: new Generator(4) });
    lora.forward(x).square().sum().backward();
    assert.equal(lora.weight.grad, null);
    assert.equal(lora.bias!.grad, null);
    assert.ok(lora.lora_A.weight.grad !== null && lora.lora_B.weight.grad !== null);
    // dL/dB against finite differences on one element.
    const gB = (lora.lora_B.weight.grad!.data() as Float32Array)[1]!;
    const eps = 1e-3;
    const lossAt = (delta: number) =>
      noGrad(() => {
        const s = lora.lora_B.weight.storage as Float32Array;
        s[1] = s[1]! + delta;
        const v = lora.forward(x).square().sum().item();
        s[1] = s[1]! - delta;
        return v;
      });
    const numeric = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
    assert.ok(Math.abs(gB - numeric) < 1e-2 * Math.max(1, Math.abs(numeric)), `analytic ${gB} vs numeric ${numeric}`);
  });

  test("dropout acts on the LoRA branch in training mode only", () => {
    const base = new Linear(16, 16, { generator: new Generator(1) });
    const lora = new LoRALinear(base, { r: 4, dropout: 0.5, generator: new Generator(2) });
    randomizeB(lora, 3);
    const x = randn([4, 16], { generator: new Generator(4) });
    const train = lora.forward(x).data() as Float32Array;
    lora.eval();
    const evalOut = lora.forward(x).data() as Float32Array;
    lora.disabled = true;
    const baseOut = lora.forward(x).data() as Float32Array;
    assert.ok(relDiff(train, evalOut) > 1e-3, "dropout changed nothing in training mode");
    assert.ok(relDiff(evalOut, baseOut) > 1e-3, "the adapter changed nothing");
  });

  test("merge gives the same output without the branch; unmerge restores W", () => {
    const base = new Linear(8, 6, { generator: new Generator(1) });
    const lora = new LoRALinear(base, { r: 2, alpha: 4, generator: new Generator(2) });
    randomizeB(lora, 3);
    const W0 = (base.weight.data() as Float32Array).slice();
    const x = randn([3, 8], { generator: new Generator(4) });
    const before = lora.forward(x).data() as Float32Array;
    lora.merge();
    const merged = lora.forward(x).data() as Float32Array;
    assert.ok(relDiff(merged, before) < 1e-5);
    lora.unmerge();
    assert.ok(relDiff(base.weight.data() as Float32Array, W0) < 1e-6);
  });
});

describe("addLoRA", () => {
  test("Llama: q_proj, v_proj adapted, every other parameter frozen, names as PEFT's", () => {
    const model = new LlamaForCausalLM(tinyLlamaConfig(), { seed: 1 });
    const total = model.numParameters();
    const added = addLoRA(model, { targetModules: ["q_proj", "v_proj"], r: 2 });
    assert.deepEqual(
      added.map(([n]) => n),
      [
        "model.layers.0.self_attn.q_proj",
        "model.layers.0.self_attn.v_proj",
        "model.layers.1.self_attn.q_proj",
        "model.layers.1.self_attn.v_proj",
      ],
    );
    assert.ok(
      model.getSubmodule("model.layers.0.self_attn.q_proj") instanceof LoRALinear,
      "the module the forward pass reads was replaced",
    );
    const trainable = loraParameters(model).map(([n]) => n);
    assert.deepEqual(trainable.slice(0, 2), [
      "model.layers.0.self_attn.q_proj.lora_A.weight",
      "model.layers.0.self_attn.q_proj.lora_B.weight",
    ]);
    // q: A (2, 16) + B (16, 2); v: A (2, 16) + B (8, 2) (2 key/value heads of 4 dims), per layer.
    const loraCount = 2 * (2 * 16 + 16 * 2 + 2 * 16 + 8 * 2);
    const c = countParameters(model);
    assert.deepEqual([c.trainable, c.total], [loraCount, total + loraCount]);
    assert.match(formatTrainableParameters(c), /^trainable params: 224 \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/);
    // Base parameter names are unchanged (checkpoints still load).
    assert.ok(model.namedParameters().some(([n]) => n === "model.layers.1.self_attn.q_proj.weight"));
  });

  test("an unknown target is an error that lists the model's linear layers", () => {
    const model = new GPT2LMHeadModel(tinyGPT2Config(), { seed: 1 });
    assert.throws(() => addLoRA(model, { targetModules: ["q_proj"] }), /no linear layer named 'q_proj'.*c_attn/);
  });

  for (const arch of ["llama", "gpt2"] as const) {
    test(`${arch}: merged logits equal the LoRA model's logits (1e-5 relative), unmerge restores the base`, () => {
      const model: CausalLM =
        arch === "llama" ? new LlamaForCausalLM(tinyLlamaConfig(), { seed: 1 }) : new GPT2LMHeadModel(tinyGPT2Config(), { seed: 1 });
      randomizeParameters(model, 7);
      const targets =
        arch === "llama" ? ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] : ["c_attn", "c_proj", "c_fc"];
      const ids = ids2d([
        [1, 5, 9, 2, 7, 3],
        [4, 4, 8, 1, 0, 6],
      ]);
      const baseLogits = noGrad(() => model.forward(ids).logits.data() as Float32Array).slice();
      addLoRA(model, { targetModules: targets, r: 4, alpha: 8 });
      randomizeB(model, 11);
      model.eval();
      const adapted = noGrad(() => model.forward(ids).logits.data() as Float32Array).slice();
      assert.ok(relDiff(adapted, baseLogits) > 1e-2, "the adapter should change the logits");
      mergeLoRA(model);
      const merged = noGrad(() => model.forward(ids).logits.data() as Float32Array);
      assert.ok(relDiff(merged, adapted) < 1e-5, `merged vs adapted: ${relDiff(merged, adapted)}`);
      unmergeLoRA(model);
      const restored = noGrad(() => model.forward(ids).logits.data() as Float32Array);
      assert.ok(relDiff(restored, adapted) < 1e-5);
    });
  }

  test("a training step through the model moves only the LoRA factors", () => {
    const model = new LlamaForCausalLM(tinyLlamaConfig(), { seed: 1 });
    addLoRA(model, { targetModules: ["q_proj", "v_proj"], r: 2 });
    const ids = ids2d([[1, 5, 9, 2, 7, 3]]);
    const { loss } = model.forward(ids, { labels: ids });
    loss!.backward();
    for (const [name, p] of model.namedParameters()) {
      if (/lora_[AB]/.test(name)) assert.ok(p.grad !== null, `${name} has no gradient`);
      else assert.equal(p.grad, null, `${name} should be frozen`);
    }
    assert.ok(ids instanceof Tensor);
  });
});
