// Each Llama-like family (Llama, Llama 3 with rope scaling, Qwen2, …) as a tiny random model,
// checked end to end: (a) the training model against a PyTorch transcription of transformers'
// modelling for that family (torch_llama_like.ts): logits, loss and every gradient; (b) the
// inference decoder against the training model, prefill and then one token at a time through
// the KV cache; (c) a GGUF round trip (names, metadata, no q/k permutation outside llama) that
// decodes the same; (d) LoRA training and Q8_0 quantization on it. The PyTorch check skips when
// /usr/bin/python3 cannot import torch.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createModel, modelToCheckpoint, type ModelConfig, type TransformerLM } from "../../src/models/index.js";
import { saveHFCheckpoint, readHFCheckpoint } from "../../src/formats/hf.js";
import { readGGUFCheckpoint, writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { GGUFReader } from "../../src/formats/gguf.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { addLoRA, loraParameters, mergeLoRA } from "../../src/nn/index.js";
import { quantizeCheckpoint } from "../../src/quant/checkpoint.js";
import { architectureOf, parseModelConfig } from "../../src/arch/index.js";
import { noGrad } from "../../src/tensor/index.js";
import { python } from "../formats/python.js";
import { assertClose, ids2d, maxDiff, randomizeParameters, relDiff } from "../models/tiny.js";
import { TORCH_LLAMA_LIKE } from "./torch_llama_like.js";
import { FAMILIES } from "./tiny_families.js";

const IDS = [
  [3, 7, 1, 19, 4, 22, 8, 11, 5, 17],
  [2, 2, 14, 5, 9, 0, 13, 6, 21, 1],
];

function torchSkip(): false | string {
  const ok = existsSync(python) && spawnSync(python, ["-c", "import torch, numpy"], { stdio: "ignore" }).status === 0;
  return ok ? false : `PyTorch not available via ${python} (set TSGPT_PYTHON)`;
}

function randomModel(config: ModelConfig): TransformerLM {
  const model = createModel(config, { seed: 21 }) as TransformerLM;
  randomizeParameters(model, 22, 0.3);
  return model;
}

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-arch-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Logits of every position from the decoder: a prefill of `split` tokens, then one token per call. */
function decodeStepwise(decoder: DecoderModel, row: number[], split: number): Float32Array {
  const T = row.length,
    V = decoder.dims.vocabSize;
  const cache = decoder.createCache(1, T);
  const out = new Float32Array(T * V);
  const ids = Int32Array.from(row),
    pos = Int32Array.from(row.keys());
  out.set(decoder.forward(cache, ids.subarray(0, split), pos.subarray(0, split), new Uint8Array(split).fill(1), split, true), 0);
  for (let t = split; t < T; t++) {
    out.set(decoder.forward(cache, ids.subarray(t, t + 1), pos.subarray(t, t + 1), Uint8Array.of(1), 1), t * V);
  }
  return out;
}

const skipTorch = torchSkip();

for (const { name, config } of FAMILIES) {
  describe(`${name} (${config.model_type})`, () => {
    const model = randomModel(config);
    const V = config.vocab_size,
      T = IDS[0]!.length;
    const expected = noGrad(() => model.forward(ids2d(IDS)).logits.data() as Float32Array);

    test("logits, loss and gradients equal a PyTorch transcription of transformers' model", { skip: skipTorch }, () => {
      withDir((dir) => {
        saveHFCheckpoint(dir, modelToCheckpoint(model));
        const r = spawnSync(python, ["-c", TORCH_LLAMA_LIKE, dir, JSON.stringify(IDS)], { maxBuffer: 64 << 20 });
        assert.equal(r.status, 0, `python failed: ${r.stderr?.toString()}`);
        const ref = JSON.parse(r.stdout.toString()) as { logits: number[]; loss: number; grads: Record<string, number[]> };
        const ids = ids2d(IDS);
        model.zeroGrad();
        const out = model.forward(ids, { labels: ids });
        const dLogits = maxDiff(out.logits.data(), ref.logits);
        assertClose(out.logits.data(), ref.logits, 1e-4, "logits");
        assert.ok(Math.abs(out.loss!.item() - ref.loss) < 1e-5, `loss ${out.loss!.item()} vs torch ${ref.loss}`);
        out.loss!.backward();
        let dGrad = 0;
        for (const [pname, p] of model.namedParameters()) {
          const g = ref.grads[pname];
          assert.ok(g, `torch has no gradient for ${pname}`);
          const scale = Math.max(1e-3, ...g.map(Math.abs));
          dGrad = Math.max(dGrad, maxDiff(p.grad!.data(), g) / scale);
          assertClose(p.grad!.data(), g, 1e-4 * scale + 1e-6, `gradient of ${pname}`);
        }
        model.zeroGrad();
        console.log(
          `# ${name} vs PyTorch: max |Δ logits| ${dLogits.toExponential(2)}, |Δ loss| ${Math.abs(out.loss!.item() - ref.loss).toExponential(2)}, max relative |Δ grad| ${dGrad.toExponential(2)}`,
        );
      });
    });

    test("the inference decoder (prefill, then token by token through the KV cache) equals the training model", () => {
      const decoder = DecoderModel.fromCheckpoint(modelToCheckpoint(model));
      IDS.forEach((row, b) => {
        const got = decodeStepwise(decoder, row, 4);
        assertClose(got, expected.subarray(b * T * V, (b + 1) * T * V), 1e-4, `row ${b}`);
      });
    });

    test("HF directory and GGUF round trips keep the config and the weights", () => {
      withDir((dir) => {
        const ck = modelToCheckpoint(model);
        saveHFCheckpoint(join(dir, "hf"), ck);
        const hf = readHFCheckpoint(join(dir, "hf"));
        assert.deepEqual(hf.config, parseModelConfig(config));
        const path = join(dir, "m.gguf");
        writeGGUFCheckpoint(path, ck);
        const r = GGUFReader.open(path);
        const arch = architectureOf(ck.config);
        try {
          assert.equal(r.metadata.get("general.architecture")?.value, arch.ggufArch);
          assert.equal(r.metadata.get(`${arch.ggufArch}.block_count`)?.value, config.num_hidden_layers);
          // Rows as HF stores them, unless the family is llama (adjacent-pairs order in GGUF).
          const q = r.read("blk.0.attn_q.weight").data as Float32Array;
          const hfQ = ck.tensors.get("model.layers.0.self_attn.q_proj.weight")!.data as Float32Array;
          assert.equal(maxDiff(q, hfQ) === 0, !arch.ggufPairsRotary);
        } finally {
          r.close();
        }
        const back = readGGUFCheckpoint(path);
        assert.deepEqual(back.config, parseModelConfig(config));
        assert.deepEqual(
          [...back.tensors.keys()].sort(),
          [...ck.tensors.keys()].filter((k) => k !== "lm_head.weight" || !config.tie_word_embeddings).sort(),
        );
        for (const [k, t] of back.tensors) assert.equal(maxDiff(t.data as Float32Array, ck.tensors.get(k)!.data as Float32Array), 0, k);
        const got = decodeStepwise(DecoderModel.fromCheckpoint(back), IDS[0]!, 3);
        assertClose(got, expected.subarray(0, T * V), 1e-4, "decoder from GGUF");
      });
    });

    test("LoRA trains on it and merges into the same function; Q8_0 quantization decodes close to f32", () => {
      const lm = randomModel(config);
      const arch = architectureOf(config);
      addLoRA(lm, { targetModules: arch.lora.targetable, r: 2, seed: 3 });
      const ids = ids2d(IDS);
      const params = loraParameters(lm);
      assert.ok(params.length > 0);
      const before = lm.forward(ids, { labels: ids }).loss!;
      before.backward();
      noGrad(() => {
        for (const [, p] of params) {
          const w = p.storage as Float32Array,
            g = p.grad!.data() as Float32Array;
          for (let i = 0; i < w.length; i++) w[i] = w[i]! - 0.5 * g[i]!;
        }
      });
      const after = noGrad(() => lm.forward(ids, { labels: ids }));
      assert.ok(after.loss!.item() < before.item(), `LoRA step: loss ${before.item()} → ${after.loss!.item()}`);
      noGrad(() => mergeLoRA(lm));
      const merged = noGrad(() => lm.forward(ids).logits.data() as Float32Array);
      assertClose(merged, after.logits.data(), 1e-4, "merged LoRA");

      const q8 = quantizeCheckpoint(modelToCheckpoint(model), "Q8_0");
      const got = decodeStepwise(DecoderModel.fromCheckpoint(q8), IDS[0]!, 4);
      const rel = relDiff(got, expected.subarray(0, T * V));
      assert.ok(rel < 0.05, `Q8_0 logits differ from f32 by ${rel} (relative)`);
      withDir((dir) => {
        writeGGUFCheckpoint(join(dir, "q8.gguf"), q8);
        const back = readGGUFCheckpoint(join(dir, "q8.gguf"));
        assertClose(decodeStepwise(DecoderModel.fromCheckpoint(back), IDS[0]!, 4), got, 1e-5, "Q8_0 GGUF");
      });
    });
  });
}
