// Linear layers whose weights stay 16-bit (f16 or bf16) in memory.
//
// A checkpoint stored in bf16 takes half the bytes of its f32 expansion. Keeping the weights as
// raw Uint16Array bits and widening them only when they are used trades a little time per token
// for half the memory: a 1.1B-parameter model needs 2.2 GB instead of 4.4 GB.
//
// The product out (m × n) = x (m × k) · Wᵀ for W stored (n, k) as 16-bit bits is the backend's
// linearHalf: src/backend/js_half.ts is the readable reference (it widens blocks of rows into a
// cache-sized scratch buffer and multiplies by them), native/half*.cc does the same with SIMD on
// every thread. An embedding lookup widens just the rows it needs (halfEmbedding).
import type { Backend } from "../backend/backend.js";
import { bf16ToF32, f16ToF32 } from "../tensor/half.js";
import type { QuantMatrix } from "./quant_linear.js";

/** A (rows, cols) matrix of 16-bit floats, kept as their raw bits. */
export interface HalfMatrix {
  readonly dtype: "F16" | "BF16";
  readonly bits: Uint16Array;
  readonly rows: number;
  readonly cols: number;
}

/**
 * A linear weight as the decoder keeps it: f32, 16-bit bits widened on the fly, or quantized
 * blocks multiplied by the integer kernels (quant_linear.ts).
 */
export type LinearWeight = Float32Array | HalfMatrix | QuantMatrix;

/** @deprecated Every Backend has linearHalf now; this name is kept for one release. */
export type HalfLinearBackend = Pick<Backend, "linearHalf">;

/** Widens rows r0 … r1 of w into the start of `into`. */
export function widenRows(w: HalfMatrix, r0: number, r1: number, into: Float32Array): Float32Array {
  const src = w.bits.subarray(r0 * w.cols, r1 * w.cols);
  const dst = into.subarray(0, src.length);
  return w.dtype === "BF16" ? bf16ToF32(src, dst) : f16ToF32(src, dst);
}

/** out (m × w.rows) = x (m × w.cols) · Wᵀ: the backend's linearHalf. */
export function halfLinear(be: Backend, x: Float32Array, m: number, w: HalfMatrix, out: Float32Array): void {
  be.linearHalf(w.dtype, x, m, w.cols, w.bits, w.rows, out);
}

/** out[i, :] = W[ids[i], :] widened to f32: an embedding lookup in a 16-bit table. */
export function halfEmbedding(w: HalfMatrix, ids: Int32Array, out: Float32Array): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= w.rows) {
      throw new RangeError(`embedding: index ${id} at position ${i} is out of range for a vocabulary of ${w.rows}`);
    }
    widenRows(w, id, id + 1, out.subarray(i * w.cols, (i + 1) * w.cols));
  }
}

/** The array that holds a weight's values (two weights sharing it are one weight). */
export function weightStorage(w: LinearWeight): ArrayBufferView {
  return w instanceof Float32Array ? w : "bits" in w ? w.bits : w.data;
}

/** Bytes a weight occupies in memory, as stored. */
export function weightBytes(w: LinearWeight): number {
  return weightStorage(w).byteLength;
}
