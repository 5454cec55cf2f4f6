// Linear layers whose weights stay 16-bit (f16 or bf16) in memory.
//
// A checkpoint stored in bf16 takes half the bytes of its f32 expansion. Keeping the weights as
// raw Uint16Array bits and widening them only when they are used trades a little time per token
// for half the memory: a 1.1B-parameter model needs 2.2 GB instead of 4.4 GB.
//
// The kernel computes out (m × n) = x (m × k) · Wᵀ for W stored (n, k) as 16-bit bits:
//
//   for each block of weight rows r0 … r1:
//     widen W[r0:r1, :] to f32 into a small scratch buffer (it stays in the CPU cache)
//     out[:, r0:r1] = x · blockᵀ   (the backend's f32 matmul does the dot products)
//
// The same code serves decode (m = 1) and prefill (m > 1); with m > 1 each widened block is
// reused by every row of x, so the conversion costs less per token.
//
// A backend may do all of this natively: if it has a `linearHalf` function (see
// HalfLinearBackend) it is called instead: the native addon has one (native/half*.cc, SIMD
// widening and multi-threaded), so this js path is the reference and the fallback.
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

/** Optional native kernel: out (m × n) = x (m × k) · Wᵀ, W given as 16-bit bits (n, k). */
export interface HalfLinearBackend {
  linearHalf(dtype: "F16" | "BF16", x: Float32Array, m: number, k: number, bits: Uint16Array, n: number, out: Float32Array): void;
}

/** Elements widened per block: 64 Ki floats = 256 KiB, small enough to stay in L2. */
const BLOCK_ELEMENTS = 1 << 16;

let blockScratch = new Float32Array(0); // widened weight rows
let outScratch = new Float32Array(0); // m × blockRows products, before they go to their columns

/** Widens rows r0 … r1 of w into the start of `into`. */
export function widenRows(w: HalfMatrix, r0: number, r1: number, into: Float32Array): Float32Array {
  const src = w.bits.subarray(r0 * w.cols, r1 * w.cols);
  const dst = into.subarray(0, src.length);
  return w.dtype === "BF16" ? bf16ToF32(src, dst) : f16ToF32(src, dst);
}

/** out (m × w.rows) = x (m × w.cols) · Wᵀ, widening W block by block. */
export function halfLinear(be: Backend, x: Float32Array, m: number, w: HalfMatrix, out: Float32Array): void {
  const k = w.cols, n = w.rows;
  const native = (be as Partial<HalfLinearBackend>).linearHalf;
  if (native) {
    native.call(be, w.dtype, x, m, k, w.bits, n, out);
    return;
  }
  const blockRows = Math.max(1, Math.floor(BLOCK_ELEMENTS / k));
  if (blockScratch.length < blockRows * k) blockScratch = new Float32Array(blockRows * k);
  if (m > 1 && outScratch.length < m * blockRows) outScratch = new Float32Array(m * blockRows);
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const r1 = Math.min(n, r0 + blockRows), rows = r1 - r0;
    const block = widenRows(w, r0, r1, blockScratch);
    // With one input row the block's products are out[r0:r1] itself; with more, they are a
    // column slice of out, so they land in a scratch matrix first.
    const c = m === 1 ? out.subarray(r0, r1) : outScratch.subarray(0, m * rows);
    be.matmul({
      batch: 1, m, n: rows, k,
      a: x, aOffset: 0, aBatchStride: 0, transA: false,
      b: block, bOffset: 0, bBatchStride: 0, transB: true,
      c, accumulate: false,
    });
    if (m > 1) for (let i = 0; i < m; i++) out.set(c.subarray(i * rows, (i + 1) * rows), i * n + r0);
  }
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
