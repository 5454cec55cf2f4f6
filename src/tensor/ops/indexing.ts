// Indexing ops: indexSelect, gather, triu / tril. Indices are int32 and checked: an index
// out of range is a RangeError naming it, never a silent wrap.
import { record } from "../autograd.js";
import { allocate } from "../dtype.js";
import { contiguousStrides, normDim, numelOf, shapeStr } from "../shape.js";
import { Tensor, assertTensor } from "../tensor.js";
import { where } from "./elementwise.js";

function requireIndex(op: string, index: Tensor): void {
  assertTensor(op, "index", index);
  if (index.dtype !== "int32") throw new TypeError(`${op}: index must be an int32 tensor, got ${index.dtype}`);
}

function checkIndexValue(op: string, v: number, pos: number, size: number, dim: number): void {
  if (v < 0 || v >= size) {
    throw new RangeError(`${op}: index ${v} (at position ${pos}) is out of range for dim ${dim} of size ${size}`);
  }
}

/** Picks entries `index` (1-D int32) along `dim`: out.shape[dim] = index.numel. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor("indexSelect", "input", x);
  requireIndex("indexSelect", index);
  if (index.ndim > 1) throw new RangeError(`indexSelect: index must be 0-D or 1-D, got shape ${shapeStr(index.shape)}`);
  const d = normDim("indexSelect", dim, x.ndim);
  const ids = index.data() as Int32Array;
  const size = x.shape[d];
  ids.forEach((v, i) => checkIndexValue("indexSelect", v, i, size, d));
  const outer = numelOf(x.shape.slice(0, d));
  const inner = numelOf(x.shape.slice(d + 1));
  const n = ids.length;
  const src = x.data();
  const out = allocate(x.dtype, outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < n; i++) {
      const from = (o * size + ids[i]) * inner;
      out.set(src.subarray(from, from + inner), (o * n + i) * inner);
    }
  }
  const shape = x.shape.slice();
  shape[d] = n;
  return record(new Tensor(out, shape), "indexSelect", [x], (g) => {
    // Rows picked more than once receive the sum of their gradients.
    const gv = g.data() as Float32Array;
    const gx = new Float32Array(x.numel);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < n; i++) {
        const to = (o * size + ids[i]) * inner;
        const from = (o * n + i) * inner;
        for (let j = 0; j < inner; j++) gx[to + j] += gv[from + j];
      }
    }
    return [new Tensor(gx, x.shape)];
  });
}

/**
 * out[i][j][k] = x[index[i][j][k]][j][k] (dim 0), x[i][index[i][j][k]][k] (dim 1), ...
 * index has x's number of dims and no larger sizes outside `dim`; out has index's shape.
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor("gather", "input", x);
  requireIndex("gather", index);
  const d = normDim("gather", dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((s, k) => k !== d && s > x.shape[k])) {
    throw new RangeError(`gather: index shape ${shapeStr(index.shape)} does not fit input shape ${shapeStr(x.shape)} for dim ${d}`);
  }
  const ids = index.data() as Int32Array;
  const src = x.data();
  const xStrides = contiguousStrides(x.shape);
  // Source position of each output element: its own coordinates, with dim d replaced by the index.
  const positions = new Int32Array(ids.length);
  const coord = new Array<number>(index.ndim).fill(0);
  for (let i = 0; i < ids.length; i++) {
    checkIndexValue("gather", ids[i], i, x.shape[d], d);
    let p = 0;
    for (let k = 0; k < coord.length; k++) p += (k === d ? ids[i] : coord[k]) * xStrides[k];
    positions[i] = p;
    for (let k = coord.length - 1; k >= 0; k--) {
      if (++coord[k] < index.shape[k]) break;
      coord[k] = 0;
    }
  }
  const out = allocate(x.dtype, ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = src[positions[i]];
  return record(new Tensor(out, index.shape), "gather", [x], (g) => {
    const gv = g.data() as Float32Array;
    const gx = new Float32Array(x.numel);
    for (let i = 0; i < positions.length; i++) gx[positions[i]] += gv[i];
    return [new Tensor(gx, x.shape)];
  });
}

/** Mask over the last two dims keeping entries with (col - row) compared to `diagonal`. */
function triangle(op: string, x: Tensor, diagonal: number, keep: (colMinusRow: number) => boolean): Tensor {
  assertTensor(op, "input", x);
  if (x.ndim < 2) throw new RangeError(`${op}: expects at least 2 dims, got shape ${shapeStr(x.shape)}`);
  if (!Number.isInteger(diagonal)) throw new TypeError(`${op}: diagonal must be an integer, got ${diagonal}`);
  const rows = x.shape[x.ndim - 2];
  const cols = x.shape[x.ndim - 1];
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mask[r * cols + c] = keep(c - r - diagonal) ? 1 : 0;
  const zero = x.dtype === "bool" ? new Tensor(new Uint8Array([0]), []) : 0;
  return where(new Tensor(mask, [rows, cols]), x, zero);
}

/** Upper triangle of the last two dims: keeps col - row ≥ diagonal, zeros elsewhere. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle("triu", x, diagonal, (k) => k >= 0);
}

/** Lower triangle of the last two dims: keeps col - row ≤ diagonal (a causal mask is tril of ones). */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle("tril", x, diagonal, (k) => k <= 0);
}
