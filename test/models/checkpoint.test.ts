// Models ⇄ Checkpoints: HF names, tied weights stored once, a save/load round trip that
// gives identical logits, F16/BF16 widened on load, and agreement with the inference decoder.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createModel, modelFromCheckpoint, modelToCheckpoint, type CausalLM, type ModelConfig } from "../../src/models/index.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { loadCheckpoint } from "../../src/formats/load.js";
import { convertFloat } from "../../src/formats/dtypes.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { noGrad } from "../../src/tensor/index.js";
import { assertClose, ids2d, randomizeParameters, tinyGPT2Config, tinyLlamaConfig } from "./tiny.js";

const IDS = [[3, 7, 1, 19, 4, 22, 8, 11], [2, 2, 14, 5, 9, 0, 13, 6]];

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
      assert.deepEqual(names, model.namedParameters().map(([n]) => n));
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
