// How much a quantized dtype hurts: perplexity of the same checkpoint in f32 and after
// quantizing its weights, on the same held-out text, with the inference decoder.
//
// The decoder (src/generate/decoder.ts) works on f32 weights, so the quantized weights are
// dequantized before it runs: the numbers measure the weight quantization error exactly (each
// weight is the value the quantized file holds). They do not include the 8-bit activation
// rounding that the integer kernels add (matmul.ts), which is small next to it.
//
// Perplexity = exp(mean over predicted tokens of −log p(token | the tokens before it)); each text
// is one sequence starting with BOS, cut to the model's context.
import type { Checkpoint } from "../formats/types.js";
import { DecoderModel } from "../generate/decoder.js";
import type { QuantDType } from "./types.js";
import { dequantizeCheckpoint, quantizeCheckpoint, weightBytes, type QuantizeCheckpointOptions } from "./checkpoint.js";

export interface PerplexityResult {
  /** Mean negative log-likelihood per predicted token (nats). */
  nll: number;
  perplexity: number;
  /** Tokens predicted (each sequence predicts all of its tokens but the first). */
  tokens: number;
}

/** Perplexity of a decoder on token sequences (each should start with BOS). */
export function perplexity(model: DecoderModel, sequences: readonly (readonly number[])[]): PerplexityResult {
  let sum = 0, count = 0;
  const V = model.dims.vocabSize;
  for (const seq of sequences) {
    const ids = seq.slice(0, model.dims.context);
    if (ids.length < 2) continue;
    const T = ids.length;
    const cache = model.createCache(1, T);
    const logits = model.forward(cache, Int32Array.from(ids), Int32Array.from({ length: T }, (_, i) => i), new Uint8Array(T).fill(1), T, true);
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
  return { nll: sum / count, perplexity: Math.exp(sum / count), tokens: count };
}

export interface QuantizationEvalRow {
  dtype: "F32" | QuantDType;
  perplexity: number;
  nll: number;
  /** Bytes of all weights in this dtype (fallback tensors included). */
  weightBytes: number;
}

/** Perplexity of the f32 weights and of each quantized dtype, on the same sequences. */
export function evaluateQuantization(
  ckpt: Checkpoint, sequences: readonly (readonly number[])[], dtypes: readonly QuantDType[],
  options: QuantizeCheckpointOptions = {},
): QuantizationEvalRow[] {
  const f32 = dequantizeCheckpoint(ckpt);
  const base = perplexity(DecoderModel.fromCheckpoint(f32), sequences);
  const rows: QuantizationEvalRow[] = [{ dtype: "F32", perplexity: base.perplexity, nll: base.nll, weightBytes: weightBytes(f32) }];
  for (const dt of dtypes) {
    const q = quantizeCheckpoint(f32, dt, options);
    const r = perplexity(DecoderModel.fromCheckpoint(dequantizeCheckpoint(q)), sequences);
    rows.push({ dtype: dt, perplexity: r.perplexity, nll: r.nll, weightBytes: weightBytes(q) });
  }
  return rows;
}
