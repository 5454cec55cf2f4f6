// Tiny configs and small helpers shared by the model tests.
import assert from "node:assert/strict";
import type { GPT2Config, LlamaConfig } from "../../src/models/index.js";
import { Generator, Tensor, noGrad } from "../../src/tensor/index.js";
import type { Module } from "../../src/nn/index.js";

export function tinyLlamaConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    model_type: "llama",
    vocab_size: 23,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 16,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    ...over,
  };
}

export function tinyGPT2Config(over: Partial<GPT2Config> = {}): GPT2Config {
  return {
    model_type: "gpt2",
    vocab_size: 23,
    n_embd: 16,
    n_layer: 2,
    n_head: 4,
    n_positions: 16,
    layer_norm_epsilon: 1e-5,
    ...over,
  };
}

/**
 * Replaces every parameter by larger random values (N(0, std²), norm weights around 1), so that
 * a tiny model's logits and gradients are not all near zero and tests see real signal.
 */
export function randomizeParameters(model: Module, seed: number, std = 0.3): void {
  const gen = new Generator(seed);
  noGrad(() => {
    for (const [name, p] of model.namedParameters()) {
      const v = p.storage as Float32Array;
      gen.fillNormal(v);
      const isNormWeight = /(ln_\d|ln_f|norm|layernorm)\.weight$/.test(name);
      for (let i = 0; i < v.length; i++) v[i] = isNormWeight ? 1 + 0.1 * v[i]! : std * v[i]!;
    }
  });
}

export function ids2d(rows: number[][]): Tensor {
  return new Tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
}

/** max |a − b| over two arrays of the same length. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "lengths differ");
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/** max |a − b| / max |b|: the error relative to the size of the reference. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  return maxDiff(a, b) / scale;
}

export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  const d = maxDiff(a, b);
  assert.ok(d <= tol, `${what}: max |diff| = ${d} > ${tol}`);
}
