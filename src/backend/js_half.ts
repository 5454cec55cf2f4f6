// The js backend's linearHalf: out (m × n) = x (m × k) · Wᵀ for W (n × k) kept as 16-bit bits
// (f16 or bf16), the readable reference of native/half.cc.
//
//   for each block of weight rows r0 … r1:
//     widen W[r0:r1, :] to f32 into a small scratch buffer (it stays in the CPU cache)
//     out[:, r0:r1] = x · blockᵀ   (the f32 matmul does the dot products)
//
// The same code serves decode (m = 1) and prefill (m > 1); with m > 1 each widened block is
// reused by every row of x, so the conversion costs less per token.
import type { MatmulArgs } from "./backend.js";
import { bf16ToF32, f16ToF32 } from "./half_bits.js";

/** Elements widened per block: 64 Ki floats = 256 KiB, small enough to stay in L2. */
const BLOCK_ELEMENTS = 1 << 16;

let blockScratch = new Float32Array(0); // widened weight rows
let outScratch = new Float32Array(0); // m × blockRows products, before they go to their columns

const isSize = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/** The checks of native/addon.cc's linearHalf, with the same messages. */
export function checkLinearHalfArgs(
  dtype: string,
  x: Float32Array,
  m: number,
  k: number,
  bits: Uint16Array,
  n: number,
  out: Float32Array,
): void {
  if (dtype !== "F16" && dtype !== "BF16") throw new RangeError(`linearHalf: dtype must be "F16" or "BF16", got "${dtype}"`);
  if (!(x instanceof Float32Array)) throw new TypeError("linearHalf: x must be a Float32Array");
  if (!(bits instanceof Uint16Array)) throw new TypeError("linearHalf: bits must be a Uint16Array");
  if (!(out instanceof Float32Array)) throw new TypeError("linearHalf: out must be a Float32Array");
  for (const [name, v] of [
    ["m", m],
    ["k", k],
    ["n", n],
  ] as const) {
    if (!isSize(v)) throw new RangeError(`linearHalf: ${name} must be an integer ≥ 0, got ${v}`);
  }
  for (const [name, a, need] of [
    ["x", x, m * k],
    ["bits", bits, n * k],
    ["out", out, m * n],
  ] as const) {
    if (a.length < need) throw new RangeError(`linearHalf: ${name} has ${a.length} elements, needs at least ${need}`);
  }
}

/** Rows r0 … r1 of the (rows, k) bits widened into the start of `into`. */
function widenRows(dtype: "F16" | "BF16", bits: Uint16Array, k: number, r0: number, r1: number, into: Float32Array): Float32Array {
  const src = bits.subarray(r0 * k, r1 * k);
  const dst = into.subarray(0, src.length);
  return dtype === "BF16" ? bf16ToF32(src, dst) : f16ToF32(src, dst);
}

/** linearHalf on top of an f32 matmul, widening W block by block. */
export function linearHalfJs(
  matmul: (args: MatmulArgs) => void,
  dtype: "F16" | "BF16",
  x: Float32Array,
  m: number,
  k: number,
  bits: Uint16Array,
  n: number,
  out: Float32Array,
): void {
  checkLinearHalfArgs(dtype, x, m, k, bits, n, out);
  if (m === 0 || n === 0) return;
  if (k === 0) {
    out.fill(0, 0, m * n);
    return;
  }
  const blockRows = Math.max(1, Math.floor(BLOCK_ELEMENTS / k));
  if (blockScratch.length < blockRows * k) blockScratch = new Float32Array(blockRows * k);
  if (m > 1 && outScratch.length < m * blockRows) outScratch = new Float32Array(m * blockRows);
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const r1 = Math.min(n, r0 + blockRows),
      rows = r1 - r0;
    const block = widenRows(dtype, bits, k, r0, r1, blockScratch);
    // With one input row the block's products are out[r0:r1] itself; with more, they are a
    // column slice of out, so they land in a scratch matrix first.
    const c = m === 1 ? out.subarray(r0, r1) : outScratch.subarray(0, m * rows);
    matmul({
      batch: 1,
      m,
      n: rows,
      k,
      a: x,
      aOffset: 0,
      aBatchStride: 0,
      transA: false,
      b: block,
      bOffset: 0,
      bBatchStride: 0,
      transB: true,
      c,
      accumulate: false,
    });
    if (m > 1) for (let i = 0; i < m; i++) out.set(c.subarray(i * rows, (i + 1) * rows), i * n + r0);
  }
}
