// Linear layers and embeddings whose weights stay quantized in memory (Q8_0, Q6_K, Q5_0, Q4_1,
// Q4_0, Q4_K as read from GGUF, or Q8_ROW made in memory by src/quant/).
//
// A Q8_0 weight takes 8.5 bits per value, Q4_0 4.5, Q4_1 5 and Q4_K 4.5 instead of f32's 32,
// and decode is bound by how fast the weights stream from memory, so keeping them quantized is
// both smaller and faster. The product x · Wᵀ goes to src/quant/kernels.ts: it quantizes each
// row of x to 8-bit blocks and takes integer dot products with the weight blocks, as llama.cpp
// does (native SIMD kernels when the addon has them, the js reference otherwise).
//
// A Q8_0, Q5_0, Q4_0, Q4_1, Q4_K or Q6_K matrix is repacked once, on its first product (or by
// prepareQuantMatrix at load time), into its row-grouped layout (src/quant/row_groups.ts: 16
// rows interleaved per block), which the native kernels multiply several times faster. The
// packed copy replaces `data` (the same byte count), so the matrix does not keep both. It
// happens only when the backend prefers it (native does); with the js backend the plain layout
// stays, and a packed matrix still works there (a slower js path that unpacks 16 rows at a time).
//
// An embedding table is only read row by row, so a lookup decodes just the rows it needs.
import type { QuantizedTensor } from "../quant/types.js";
import { isQuantDType, rowBytes } from "../quant/types.js";
import { ACT_BLOCK } from "../quant/activations.js";
import { matmulGrouped, quantizedMatmul } from "../quant/kernels.js";
import { getBackend } from "../backend/index.js";
import {
  GROUP_ROWS,
  type GroupedDType,
  type GroupedLayout,
  groupedLayoutOf,
  packRowGroups,
  unpackGroupedRow,
} from "../quant/row_groups.js";
import { dequantizeRow } from "../quant/quantize.js";

/**
 * A (rows, cols) quantized matrix, its raw bytes as src/quant/types.ts lays them out, or (with
 * `layout` set) as src/quant/row_groups.ts does. Only this file changes `data` and `layout`.
 */
export interface QuantMatrix {
  readonly dtype: QuantizedTensor["dtype"];
  data: Uint8Array;
  readonly shape: number[];
  readonly rows: number;
  readonly cols: number;
  layout?: GroupedLayout;
}

/**
 * Puts a matrix in the form the kernels multiply fastest (a matrix of a dtype with a grouped layout, of
 * ≥ 16 rows: its row-grouped layout, when the backend prefers it). Call at load time;
 * quantLinear does it on first use otherwise. Returns the same object.
 */
export function prepareQuantMatrix(w: QuantMatrix): QuantMatrix {
  const layout = groupedLayoutOf(w.dtype);
  if (layout && w.layout === undefined && w.rows >= GROUP_ROWS && getBackend().preferredQuantLayout(w.dtype) === "grouped16") {
    w.data = packRowGroups(w.dtype as GroupedDType, w.data, w.rows, w.cols);
    w.layout = layout;
  }
  return w;
}

/** @deprecated The same as isQuantDType (src/quant/types.ts); kept for one release. */
export const isQuantizedDType = isQuantDType;

/** Whether the integer kernels can multiply by this weight (their activation blocks are 32 wide). */
export function kernelsAccept(cols: number): boolean {
  return cols % ACT_BLOCK === 0;
}

/** out (m × w.rows) = x (m × w.cols) · Wᵀ with W quantized. */
export function quantLinear(x: Float32Array, m: number, w: QuantMatrix, out: Float32Array): void {
  prepareQuantMatrix(w);
  if (w.layout) matmulGrouped(w.layout, x, m, w.cols, w.data, w.rows, out);
  else quantizedMatmul(x, m, w.cols, w, out);
}

/** out[i, :] = W[ids[i], :] decoded to f32: an embedding lookup in a quantized table. */
export function quantEmbedding(w: QuantMatrix, ids: Int32Array, out: Float32Array): void {
  // A packed table: each row is gathered back to the plain layout, then decoded.
  const plainRow = w.layout ? new Uint8Array(rowBytes(w.dtype, w.cols)) : null;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= w.rows) {
      throw new RangeError(`embedding: index ${id} at position ${i} is out of range for a vocabulary of ${w.rows}`);
    }
    const dst = out.subarray(i * w.cols, (i + 1) * w.cols);
    if (plainRow) {
      unpackGroupedRow(w.dtype as GroupedDType, w.data, w.rows, w.cols, id, plainRow);
      dequantizeRow({ dtype: w.dtype, data: plainRow, shape: [1, w.cols] }, 1, w.cols, 0, dst);
    } else {
      dequantizeRow(w, w.rows, w.cols, id, dst);
    }
  }
}
