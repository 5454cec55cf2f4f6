// Training on the webgpu backend follows the native backend's loss curve: a GPT-2 and a
// Llama model (2 layers, 32 dims) trained 20 steps from the same seed on the same batches,
// every step's loss within 1e-3. Skipped, with the reason, where no WebGPU adapter comes up
// (Mesa's lavapipe gives one on a CPU) or the native addon is not built. The gpt-mini run of
// 50 steps is bench/webgpu/train.ts (too slow for a test on a software adapter).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadNativeBackend } from "../../src/backend/native.js";
import { loadWebGPUSyncBackend } from "../../src/backend/webgpu/sync_backend.js";
import type { ModelConfig } from "../../src/models/index.js";
import { lossCurve, syntheticTokens } from "./loss_curve.js";

let skip: string | false = loadNativeBackend() ? false : "native addon not built";
if (!skip) {
  try {
    process.stdout.write(`# webgpu adapter: ${loadWebGPUSyncBackend("the webgpu parity test").adapterName}\n`);
  } catch (e) {
    skip = `webgpu unavailable: ${(e as Error).message}`;
  }
}

const VOCAB = 48;
const configs: [string, ModelConfig][] = [
  [
    "GPT-2",
    {
      model_type: "gpt2",
      vocab_size: VOCAB,
      n_embd: 32,
      n_layer: 2,
      n_head: 4,
      n_positions: 16,
      layer_norm_epsilon: 1e-5,
      activation_function: "gelu_new",
      tie_word_embeddings: true,
      bias: true,
    },
  ],
  [
    "Llama 2",
    {
      model_type: "llama",
      vocab_size: VOCAB,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 16,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: false,
    },
  ],
];

describe("training on webgpu matches native", { skip }, () => {
  const data = syntheticTokens(VOCAB, 4000);
  for (const [name, config] of configs) {
    test(`${name}, 2 layers × 32 dims: 20 steps, every loss within 1e-3 of native`, () => {
      const opts = { steps: 20, batch: 4, context: 16 };
      const native = lossCurve(config, "native", data, opts);
      const webgpu = lossCurve(config, "webgpu", data, opts);
      assert.ok(native.losses[19]! < native.losses[0]! - 0.1, `the model learns: ${native.losses[0]} → ${native.losses[19]}`);
      native.losses.forEach((want, i) => {
        const got = webgpu.losses[i]!;
        assert.ok(Math.abs(got - want) <= 1e-3, `step ${i + 1}: webgpu loss ${got}, native ${want}`);
      });
    });
  }
});
