// How much a quantized dtype hurts: perplexity of the same checkpoint in f32 and after
// quantizing its weights, on the same held-out text, with the inference decoder.
//
// Each quantized model runs as `tsgpt generate` runs it: weights kept quantized, products by the
// integer kernels with activations rounded to 8-bit blocks (src/generate/quant_linear.ts), so the
// numbers include both the weight and the activation rounding, as llama.cpp's perplexity tool
// does. The f32 row is the checkpoint with every weight dequantized / widened to f32.
//
// Perplexity = exp(mean over predicted tokens of −log p(token | the tokens before it)); each
// sequence predicts all of its tokens but the first, cut to the model's context. A long text is
// cut into windows that overlap by one token (tokenWindows), so every token after the first is
// predicted exactly once, as `tsgpt eval` does for training checkpoints.
import type { Checkpoint } from "../formats/types.js";
import { DecoderModel } from "./decoder.js";
import type { QuantDType } from "../quant/types.js";
import { dequantizeCheckpoint, quantizeCheckpoint, weightBytes, type QuantizeCheckpointOptions } from "../quant/checkpoint.js";

/**
 * A token stream cut into windows of at most `context` tokens, starting every context − 1
 * tokens, so that every token but the very first is predicted once. `maxTokens` caps the stream.
 */
export function tokenWindows(ids: ArrayLike<number>, context: number, maxTokens = ids.length): number[][] {
  if (!Number.isInteger(context) || context < 2) throw new RangeError(`tokenWindows: context must be an integer ≥ 2, got ${context}`);
  const total = Math.min(ids.length, maxTokens);
  const out: number[][] = [];
  for (let s = 0; s + 1 < total; s += context - 1) out.push(Array.from({ length: Math.min(context, total - s) }, (_, i) => ids[s + i]!));
  return out;
}

/** What a perplexity measurement gives, for the training model (train/evaluate.ts) and the decoder alike. */
export interface PerplexityResult {
  /** Mean negative log-likelihood per predicted token (nats): the cross-entropy loss. */
  loss: number;
  /** @deprecated The same as `loss`; kept for one release. */
  nll: number;
  perplexity: number;
  /** Tokens predicted (each sequence predicts all of its tokens but the first). */
  tokens: number;
}

/** Perplexity of a decoder on token sequences (each should start with BOS). */
export function perplexity(model: DecoderModel, sequences: readonly (readonly number[])[]): PerplexityResult {
  let sum = 0,
    count = 0;
  const V = model.dims.vocabSize;
  for (const seq of sequences) {
    const ids = seq.slice(0, model.dims.context);
    if (ids.length < 2) continue;
    const T = ids.length;
    const cache = model.createCache(1, T);
    const logits = model.forward(
      cache,
      Int32Array.from(ids),
      Int32Array.from({ length: T }, (_, i) => i),
      new Uint8Array(T).fill(1),
      T,
      true,
    );
    for (let t = 0; t < T - 1; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, row[v]!);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(row[v]! - max);
      sum += max + Math.log(z) - row[ids[t + 1]!]!;
      count++;
    }
  }
  if (count === 0) throw new Error("perplexity: no sequence has two or more tokens");
  return { loss: sum / count, nll: sum / count, perplexity: Math.exp(sum / count), tokens: count };
}

export interface QuantizationEvalRow {
  dtype: "F32" | QuantDType;
  perplexity: number;
  nll: number;
  /** Bytes of all weights in this dtype (fallback tensors included). */
  weightBytes: number;
}

/**
 * Perplexity of the f32 weights and of each quantized dtype, on the same sequences. The
 * quantized models keep their weights quantized (integer kernels, 8-bit activations).
 */
export function evaluateQuantization(
  ckpt: Checkpoint,
  sequences: readonly (readonly number[])[],
  dtypes: readonly QuantDType[],
  options: QuantizeCheckpointOptions = {},
): QuantizationEvalRow[] {
  const f32 = dequantizeCheckpoint(ckpt);
  const base = perplexity(DecoderModel.fromCheckpoint(f32), sequences);
  const rows: QuantizationEvalRow[] = [{ dtype: "F32", perplexity: base.perplexity, nll: base.nll, weightBytes: weightBytes(f32) }];
  for (const dt of dtypes) {
    const q = quantizeCheckpoint(f32, dt, options);
    const r = perplexity(DecoderModel.fromCheckpoint(q), sequences);
    rows.push({ dtype: dt, perplexity: r.perplexity, nll: r.nll, weightBytes: weightBytes(q) });
  }
  return rows;
}
