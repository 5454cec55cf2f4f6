// Models ⇄ Checkpoints: HF names, tied weights stored once, a save/load round trip that
// gives identical logits, F16/BF16 widened on load, and agreement with the inference decoder.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RMSNorm } from "../../src/nn/index.js";
import {
  LlamaForCausalLM,
  createModel,
  modelFromCheckpoint,
  modelToCheckpoint,
  type CausalLM,
  type ModelConfig,
} from "../../src/models/index.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { loadCheckpoint } from "../../src/formats/load.js";
import { convertFloat } from "../../src/formats/dtypes.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { Tensor, noGrad } from "../../src/tensor/index.js";
import { assertClose, ids2d, randomizeParameters, tinyGPT2Config, tinyLlamaConfig } from "./tiny.js";

const IDS = [
  [3, 7, 1, 19, 4, 22, 8, 11],
  [2, 2, 14, 5, 9, 0, 13, 6],
];

function logitsOf(model: CausalLM): Float32Array {
  return noGrad(() => model.forward(ids2d(IDS)).logits.data() as Float32Array);
}

const CASES: [string, ModelConfig][] = [
  ["gpt2", tinyGPT2Config()],
  ["gpt2 without biases", tinyGPT2Config({ bias: false })],
  ["llama GQA untied", tinyLlamaConfig()],
  ["llama tied", tinyLlamaConfig({ tie_word_embeddings: true })],
];

for (const [name, config] of CASES) {
  describe(`checkpoint (${name})`, () => {
    const model = createModel(config, { seed: 11 });
    randomizeParameters(model, 12, 0.3);
    const expected = logitsOf(model);

    test("tensor names and tied weights follow Hugging Face", () => {
      const ckpt = modelToCheckpoint(model);
      const names = [...ckpt.tensors.keys()];
      assert.deepEqual(
        names,
        model.namedParameters().map(([n]) => n),
      );
      const tied = config.model_type === "gpt2" || config.tie_word_embeddings;
      assert.equal(ckpt.tensors.has("lm_head.weight"), !tied);
      assert.ok(names.every((n) => n.startsWith(config.model_type === "gpt2" ? "transformer." : "model.") || n === "lm_head.weight"));
      for (const t of ckpt.tensors.values()) assert.equal(t.dtype, "F32");
    });

    test("modelToCheckpoint → saveHFCheckpoint → loadCheckpoint → modelFromCheckpoint gives identical logits", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsgpt-models-"));
      try {
        saveHFCheckpoint(dir, modelToCheckpoint(model));
        const loaded = modelFromCheckpoint(await loadCheckpoint(dir));
        assert.deepEqual(loaded.config, model.config);
        assertClose(logitsOf(loaded), expected, 0, "round trip");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("F16 and BF16 checkpoints load as float32 (within half precision)", () => {
      for (const dtype of ["F16", "BF16"] as const) {
        const ckpt = modelToCheckpoint(model);
        for (const [k, t] of ckpt.tensors) ckpt.tensors.set(k, convertFloat(t, dtype));
        const loaded = modelFromCheckpoint(ckpt);
        assert.ok(loaded.parameters().every((p) => p.dtype === "float32"));
        const scale = Math.max(...expected.map(Math.abs));
        assertClose(logitsOf(loaded), expected, (dtype === "F16" ? 0.02 : 0.1) * scale, dtype);
      }
    });

    test("the inference decoder gives the same logits from the same checkpoint", () => {
      const decoder = DecoderModel.fromCheckpoint(modelToCheckpoint(model));
      const T = IDS[0]!.length;
      IDS.forEach((row, b) => {
        const cache = decoder.createCache(1, T);
        const got = decoder.forward(cache, Int32Array.from(row), Int32Array.from(row.keys()), new Uint8Array(T).fill(1), T, true);
        const V = config.vocab_size;
        assertClose(expected.subarray(b * T * V, (b + 1) * T * V), got, 1e-4, `row ${b}`);
      });
    });
  });
}

test("modelFromCheckpoint names a missing tensor, an unexpected one, and a wrong shape", () => {
  const model = createModel(tinyLlamaConfig(), { seed: 1 });
  const missing = modelToCheckpoint(model);
  missing.tensors.delete("model.norm.weight");
  assert.throws(() => modelFromCheckpoint(missing), /model\.norm\.weight' is missing/);
  const extra = modelToCheckpoint(model);
  extra.tensors.set("model.extra.weight", { dtype: "F32", shape: [2], data: new Float32Array(2) });
  assert.throws(() => modelFromCheckpoint(extra), /unexpected tensor 'model\.extra\.weight'/);
  const bad = modelToCheckpoint(model);
  bad.tensors.set("model.norm.weight", { dtype: "F32", shape: [3], data: new Float32Array(3) });
  assert.throws(() => modelFromCheckpoint(bad), /model\.norm\.weight.*shape \[3\].*\[16\]/);
  const quant = modelToCheckpoint(model);
  quant.tensors.set("model.norm.weight", { dtype: "Q8_0", shape: [16], data: new Uint8Array(34) });
  assert.throws(() => modelFromCheckpoint(quant), /Q8_0/);
});

describe("loading onto empty weights", () => {
  const config = tinyLlamaConfig();
  const source = createModel(config, { seed: 2 });
  randomizeParameters(source, 3, 0.3);

  test("the model copies F32 arrays unless shareWeights gives them away", () => {
    const ckpt = modelToCheckpoint(source);
    const name = "model.layers.0.self_attn.q_proj.weight";
    const stored = ckpt.tensors.get(name)!.data as Float32Array;
    const param = (m: CausalLM) => m.namedParameters().find(([n]) => n === name)![1];
    const own = param(modelFromCheckpoint(ckpt));
    assert.notEqual(own.storage.buffer, stored.buffer, "a copy by default");
    assert.deepEqual(own.data(), stored);
    const shared = param(modelFromCheckpoint(ckpt, { shareWeights: true }));
    assert.equal(shared.storage, stored, "the checkpoint's own array");
    assert.equal(shared.decay, true);
    assert.equal(shared.requiresGrad, true);
  });

  test("loadStateDict: assign puts the tensors in as they are, copying keeps the parameters", () => {
    const target = new LlamaForCausalLM(config, { seed: 4 });
    const norm = () => target.getSubmodule("model.norm") as RMSNorm;
    norm().weight.requiresGrad_(false);
    const state = source.stateDict();
    const before = norm().weight;
    target.loadStateDict(state);
    assert.equal(norm().weight, before, "a copy keeps the Parameter object");
    assert.notEqual(norm().weight.storage, state.get("model.norm.weight")!.storage);
    target.loadStateDict(state, { assign: true });
    const after = norm().weight;
    assert.notEqual(after, before);
    assert.equal(after.storage, state.get("model.norm.weight")!.storage, "assign shares the f32 storage");
    assert.equal(after.requiresGrad, false, "requiresGrad stays the parameter's");
    assert.equal(target.namedParameters().find(([n]) => n === "model.norm.weight")![1], after, "the registry holds the new one");
    assert.deepEqual(logitsOf(target), logitsOf(source));
  });

  test("an empty model's parameters are assigned even without assign (there is nothing to copy into)", () => {
    const empty = createModel(config, { emptyWeights: true });
    empty.loadStateDict(modelToCheckpointState(source));
    assert.ok(empty.parameters().every((p) => !p.isMeta));
    assert.deepEqual(logitsOf(empty), logitsOf(source));
  });
});

/** A state dict of copies (so that loading cannot alias the source model). */
function modelToCheckpointState(model: CausalLM): Map<string, Tensor> {
  return new Map(model.namedParameters().map(([n, p]) => [n, new Tensor((p.data() as Float32Array).slice(), p.shape.slice())]));
}
