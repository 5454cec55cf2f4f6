// Loading a quantized base for QLoRA never builds its f32 linear weights: the model is built
// with empty (shape-only) parameters, quantized layers become QuantizedLinear before anything
// is allocated for them, and the rest is assigned from the checkpoint. The result computes
// exactly what the model built the old way (f32 model first, then layers swapped) computes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createModel, modelFromCheckpoint, modelToCheckpoint, type CausalLM, type ModelConfig } from "../../src/models/index.js";
import { Linear, Module, type Parameter } from "../../src/nn/index.js";
import { QuantizedLinear } from "../../src/quant/index.js";
import { addLoRA, loraParameters } from "../../src/nn/lora.js";
import { dequantize, quantizeCheckpoint, type QuantDType, type QuantizedTensor } from "../../src/quant/index.js";
import { isQuantDType } from "../../src/quant/types.js";
import type { Checkpoint } from "../../src/formats/types.js";
import { Tensor, noGrad } from "../../src/tensor/index.js";
import { ids2d, randomizeParameters, tinyGPT2Config, tinyLlamaConfig } from "../models/tiny.js";

// Row lengths that are whole Q8_0 / Q4_0 blocks, so every linear weight gets quantized.
const CONFIGS: [string, ModelConfig][] = [
  ["llama", tinyLlamaConfig({ vocab_size: 40, hidden_size: 64, intermediate_size: 96 })],
  ["gpt2", tinyGPT2Config({ vocab_size: 40, n_embd: 64 })],
];
const IDS = ids2d([
  [3, 7, 1, 19, 4, 22, 8, 11],
  [2, 2, 14, 5, 9, 0, 13, 6],
]);

function quantizedBase(config: ModelConfig, dtype: QuantDType): Checkpoint {
  const model = createModel(config, { seed: 5 });
  randomizeParameters(model, 6, 0.3);
  return quantizeCheckpoint(modelToCheckpoint(model), dtype);
}

interface Registered {
  owner: Module;
  name: string;
  given: Parameter | null;
  kept: Parameter | null;
}

/** Every parameter registered while `fn` runs: what the layer handed in and what was kept. */
function spyRegistrations<T>(fn: () => T): { result: T; seen: Registered[] } {
  const proto = Module.prototype as unknown as { registerParameter(name: string, p: Parameter | null): Parameter | null };
  const original = proto.registerParameter;
  const seen: Registered[] = [];
  proto.registerParameter = function (this: Module, name: string, p: Parameter | null) {
    const kept = original.call(this, name, p);
    seen.push({ owner: this, name, given: p, kept });
    return kept;
  };
  try {
    return { result: fn(), seen };
  } finally {
    proto.registerParameter = original;
  }
}

/** The model as loading built it before: f32 model (random init), quantized layers swapped in, the rest copied. */
function loadTheOldWay(ckpt: Checkpoint): CausalLM {
  const model = createModel(ckpt.config);
  const state = new Map<string, Tensor>();
  for (const [name, t] of ckpt.tensors) {
    if (!isQuantDType(t.dtype)) {
      state.set(name, new Tensor(t.data as Float32Array, t.shape.slice()));
      continue;
    }
    const mod = model.namedModules().find(([n]) => `${n}.weight` === name)?.[1];
    if (!(mod instanceof Linear)) {
      // an embedding: widened to f32
      state.set(name, new Tensor(dequantize(t).data as Float32Array, t.shape.slice()));
      continue;
    }
    model.replaceModule(name.slice(0, -".weight".length), new QuantizedLinear(t as unknown as QuantizedTensor, mod.bias));
  }
  model.loadStateDict(state);
  return model;
}

const logits = (m: CausalLM) => noGrad(() => m.forward(IDS).logits.data() as Float32Array);

for (const [arch, config] of CONFIGS) {
  for (const dtype of ["Q8_0", "Q4_0"] as const) {
    describe(`QLoRA load (${arch}, ${dtype})`, () => {
      const ckpt = quantizedBase(config, dtype);
      const quantNames = [...ckpt.tensors].filter(([, t]) => isQuantDType(t.dtype)).map(([n]) => n);

      test("no f32 weight is ever allocated for a quantized linear layer", () => {
        const { result: model, seen } = spyRegistrations(() => modelFromCheckpoint(ckpt, { keepQuantized: true }));
        const linears = seen.filter((r) => r.owner instanceof Linear);
        assert.ok(linears.length > 0);
        for (const r of linears)
          assert.ok(r.given === null || r.given.isMeta, `a Linear registered ${r.name} with ${r.given?.storage.length} values`);
        // Every layer is built shape-only; only what the checkpoint holds in float gets values.
        assert.ok(
          seen.every((r) => r.kept === null || r.kept.isMeta),
          "everything registered while building is shape-only",
        );
        const layers = new Map(model.namedModules());
        for (const name of quantNames) {
          const layer = layers.get(name.slice(0, -".weight".length));
          if (name === "model.embed_tokens.weight" || name.endsWith("wte.weight") || name.endsWith("wpe.weight")) continue; // embeddings are widened
          assert.ok(layer instanceof QuantizedLinear && layer.qweight.dtype === ckpt.tensors.get(name)!.dtype, `${name} stays quantized`);
        }
        const params = model.namedParameters();
        assert.ok(
          params.every(([, p]) => !p.isMeta && p.storage.length === p.numel),
          "every parameter got its values",
        );
        const floatElements = [...ckpt.tensors]
          .filter(([n]) => params.some(([p]) => p === n))
          .reduce((s, [, t]) => s + t.shape.reduce((a, b) => a * b, 1), 0);
        assert.equal(model.numParameters(), floatElements, "the f32 parameters are exactly the checkpoint's non-linear tensors");
      });

      test("logits are exactly those of the model built the old way", () => {
        const model = modelFromCheckpoint(ckpt, { keepQuantized: true });
        assert.deepEqual(logits(model), logits(loadTheOldWay(ckpt)));
      });

      test("LoRA trains on it: only A and B get gradients", () => {
        const model = modelFromCheckpoint(ckpt, { keepQuantized: true });
        const targets = arch === "llama" ? ["q_proj", "v_proj", "down_proj"] : ["c_attn", "c_fc"];
        addLoRA(model, { targetModules: targets, r: 4, alpha: 8 });
        for (const [, p] of loraParameters(model)) noGrad(() => p.copy_(p.add(0.05))); // B = 0 would give A no gradient
        model.forward(IDS, { labels: IDS }).loss!.backward();
        for (const [name, p] of model.namedParameters()) {
          const isFactor = /\.lora_[AB]\.weight$/.test(name);
          assert.equal(p.grad !== null, isFactor, `${name}: gradient only on the factors`);
        }
      });
    });
  }
}

describe("empty weights", () => {
  test("createModel({ emptyWeights }) allocates nothing, has the same parameters, and refuses to compute", () => {
    for (const [, config] of CONFIGS) {
      const empty = createModel(config, { emptyWeights: true });
      const full = createModel(config);
      assert.deepEqual(
        empty.namedParameters().map(([n, p]) => [n, p.shape, p.decay]),
        full.namedParameters().map(([n, p]) => [n, p.shape, p.decay]),
      );
      assert.ok(empty.parameters().every((p) => p.isMeta && p.storage.length === 0));
      assert.ok(full.parameters().every((p) => !p.isMeta));
      assert.throws(() => empty.forward(IDS), /shape-only|has 0 elements/); // the embedding (native or js) or the first Linear
    }
  });
});
