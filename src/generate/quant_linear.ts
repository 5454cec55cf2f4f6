// Linear layers and embeddings whose weights stay quantized in memory (Q8_0, Q4_0, Q4_K as read
// from GGUF, or Q8_ROW made in memory by src/quant/).
//
// A Q8_0 weight takes 8.5 bits per value, Q4_0 4.5 and Q4_K 4.5 instead of f32's 32, and decode
// is bound by how fast the weights stream from memory, so keeping them quantized is both smaller
// and faster. The product x · Wᵀ goes to src/quant/kernels.ts: it quantizes each row of x to
// 8-bit blocks and takes integer dot products with the weight blocks, as llama.cpp does (native
// SIMD kernels when the addon has them, the js reference otherwise).
//
// An embedding table is only read row by row, so a lookup decodes just the rows it needs.
import type { QuantizedTensor } from "../quant/types.js";
import { isQuantDType } from "../quant/types.js";
import { ACT_BLOCK } from "../quant/activations.js";
import { quantizedMatmul } from "../quant/kernels.js";
import { dequantizeRow } from "../quant/quantize.js";

/** A (rows, cols) quantized matrix, its raw bytes as src/quant/types.ts lays them out. */
export interface QuantMatrix {
  readonly dtype: QuantizedTensor["dtype"];
  readonly data: Uint8Array;
  readonly shape: number[];
  readonly rows: number;
  readonly cols: number;
}

/** True when a stored tensor's dtype is one of the quantized ones. */
export function isQuantizedDType(dtype: string): dtype is QuantizedTensor["dtype"] {
  return isQuantDType(dtype);
}

/** Whether the integer kernels can multiply by this weight (their activation blocks are 32 wide). */
export function kernelsAccept(cols: number): boolean {
  return cols % ACT_BLOCK === 0;
}

/** out (m × w.rows) = x (m × w.cols) · Wᵀ with W quantized. */
export function quantLinear(x: Float32Array, m: number, w: QuantMatrix, out: Float32Array): void {
  quantizedMatmul(x, m, w.cols, w, out);
}

/** out[i, :] = W[ids[i], :] decoded to f32: an embedding lookup in a quantized table. */
export function quantEmbedding(w: QuantMatrix, ids: Int32Array, out: Float32Array): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= w.rows) {
      throw new RangeError(`embedding: index ${id} at position ${i} is out of range for a vocabulary of ${w.rows}`);
    }
    dequantizeRow(w, w.rows, w.cols, id, out.subarray(i * w.cols, (i + 1) * w.cols));
  }
}
