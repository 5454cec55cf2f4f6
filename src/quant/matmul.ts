// The quantized matmul on a QuantizedTensor, in the js reference (the readable per-format dot
// products live with the kernels: src/backend/js_quant.ts).
import { quantMatmulRowsJs } from "../backend/js_quant.js";
import { type QuantizedTensor, matrixShape } from "./types.js";
import { ACT_BLOCK } from "./activations.js";

/** Checks the sizes of a quantized matmul; returns n (the output features). */
export function checkQuantizedMatmul(x: Float32Array, m: number, k: number, w: QuantizedTensor, out: Float32Array): number {
  const { rows: n, cols } = matrixShape(w);
  if (!Number.isSafeInteger(m) || m < 0 || !Number.isSafeInteger(k) || k <= 0)
    throw new RangeError(`quantized matmul: invalid sizes m = ${m}, k = ${k}`);
  if (cols !== k) throw new RangeError(`quantized matmul: the weight has rows of ${cols} values, x has k = ${k}`);
  if (k % ACT_BLOCK !== 0) throw new RangeError(`quantized matmul: k = ${k} is not a multiple of ${ACT_BLOCK}`);
  if (x.length < m * k) throw new RangeError(`quantized matmul: x has ${x.length} values, m × k = ${m * k}`);
  if (out.length < m * n) throw new RangeError(`quantized matmul: out has ${out.length} values, m × n = ${m * n}`);
  return n;
}

/** out[i, r] = Σ_c x[i, c] · W[r, c] with W quantized (js reference). */
export function quantizedMatmulJs(x: Float32Array, m: number, k: number, w: QuantizedTensor, out: Float32Array): void {
  const n = checkQuantizedMatmul(x, m, k, w, out);
  quantMatmulRowsJs(w.dtype, x, m, k, w.data, n, out);
}
