// Activations quantized on the fly for the integer matmul kernels, as llama.cpp does for its
// Q8_0 × Q8_0 / Q4_0 × Q8_0 dot products: each row of x is cut into blocks of 32 values,
//   d = amax / 127,  q = round(x · (1/d))  (ties to even, like SIMD rounding),
// and each block keeps its scale (in f32 here; llama.cpp rounds it to f16) and the sum of its
// codes (Q4_0 and Q4_K need Σq to apply their offset / minimum once per block).
// The native kernels compute exactly the same codes, so js and native differ only in the order
// of the float additions.
import { f32, nearestInt } from "./quant_rounding.js";

export const ACT_BLOCK = 32;

export interface QuantizedActivations {
  /** m × k int8 codes. */
  q: Int8Array;
  /** m × k/32 block scales. */
  d: Float32Array;
  /** m × k/32 sums of the block's codes. */
  sum: Int32Array;
}

/** Quantizes x (m × k, k a multiple of 32) block by block. */
export function quantizeActivations(x: Float32Array, m: number, k: number): QuantizedActivations {
  if (k % ACT_BLOCK !== 0) throw new RangeError(`quantized matmul: k = ${k} is not a multiple of ${ACT_BLOCK}`);
  const nb = (m * k) / ACT_BLOCK;
  const q = new Int8Array(m * k),
    d = new Float32Array(nb),
    sum = new Int32Array(nb);
  for (let b = 0; b < nb; b++) {
    const x0 = b * ACT_BLOCK;
    let amax = 0;
    for (let j = 0; j < ACT_BLOCK; j++) amax = Math.max(amax, Math.abs(x[x0 + j]!));
    const db = f32(amax / 127);
    const id = db !== 0 ? f32(1 / db) : 0;
    let s = 0;
    for (let j = 0; j < ACT_BLOCK; j++) {
      const v = nearestInt(f32(x[x0 + j]! * id));
      q[x0 + j] = v;
      s += v;
    }
    d[b] = db;
    sum[b] = s;
  }
  return { q, d, sum };
}
