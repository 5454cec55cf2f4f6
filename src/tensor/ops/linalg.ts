// Matrix multiplication with PyTorch's matmul semantics: 1-D operands are vectors, and
// leading (batch) dims broadcast. Transposed views (w.t(), k.transpose(-2, -1)) go to the
// kernel as a transpose flag, without a copy.
import { getBackend } from "../../backend/index.js";
import { deviceArray } from "../../backend/device_arrays.js";
import { record } from "../autograd.js";
import { broadcastShapes, broadcastStrides, numelOf, shapeStr, type Shape } from "../shape.js";
import { Tensor, assertTensor } from "../tensor.js";
import { sumToShape } from "./reduce.js";
import { contiguous, expand, squeeze, transpose, unsqueeze } from "./views.js";

/** How one operand is handed to the kernel. */
interface Operand {
  data: Float32Array;
  offset: number;
  batchStride: number;
  trans: boolean;
}

/**
 * The single stride that steps through the flattened batch dims of a view (0 when the
 * operand is broadcast over the batch), or null when the batch dims cannot be flattened.
 */
function flatBatchStride(shape: Shape, strides: readonly number[]): number | null {
  let stride: number | null = null;
  let span = 1; // elements of the batch dims inside the current one
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    if (stride === null) stride = strides[d];
    else if (strides[d] !== stride * span) return null;
    span *= shape[d];
  }
  return stride ?? 0;
}

/** Kernel arguments for t (…, rows, cols) viewed with batch dims `batchShape`, or null if a copy is needed. */
function layoutOf(t: Tensor, batchShape: Shape): Operand | null {
  const nd = t.ndim;
  const rows = t.shape[nd - 2];
  const cols = t.shape[nd - 1];
  const rs = t.strides[nd - 2];
  const cs = t.strides[nd - 1];
  let trans: boolean;
  if ((cs === 1 || cols <= 1) && (rs === cols || rows <= 1)) trans = false;
  else if ((rs === 1 || rows <= 1) && (cs === rows || cols <= 1)) trans = true;
  else return null;
  const bStrides = broadcastStrides(t.shape.slice(0, nd - 2), t.strides.slice(0, nd - 2), batchShape);
  const batchStride = flatBatchStride(batchShape, bStrides);
  if (batchStride === null) return null;
  return { data: t.deviceStorage as Float32Array, offset: t.offset, batchStride, trans };
}

function operand(t: Tensor, batchShape: Shape): Operand {
  const direct = layoutOf(t, batchShape) ?? layoutOf(contiguous(t.detach()), batchShape);
  if (direct) return direct;
  // Partly broadcast batch dims: materialise the broadcast copy.
  const full = contiguous(expand(t.detach(), [...batchShape, ...t.shape.slice(-2)]));
  return layoutOf(full, batchShape)!;
}

/** (…, m, k) @ (…, k, n) with broadcast batch dims; both at least 2-D. */
function batchedMatmul(a: Tensor, b: Tensor, shownA: Shape, shownB: Shape): Tensor {
  const m = a.shape[a.ndim - 2];
  const k = a.shape[a.ndim - 1];
  const n = b.shape[b.ndim - 1];
  if (b.shape[b.ndim - 2] !== k) {
    throw new RangeError(
      `matmul: shapes ${shapeStr(shownA)} and ${shapeStr(shownB)} cannot be multiplied (${k} != ${b.shape[b.ndim - 2]})`,
    );
  }
  let batchShape: number[];
  try {
    batchShape = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new RangeError(`matmul: shapes ${shapeStr(shownA)} and ${shapeStr(shownB)} have batch dims that cannot be broadcast together`);
  }
  const batch = numelOf(batchShape);
  const A = operand(a, batchShape);
  const B = operand(b, batchShape);
  const c = deviceArray(batch * m * n);
  if (c.length > 0) {
    getBackend().matmul({
      batch,
      m,
      n,
      k,
      a: A.data,
      aOffset: A.offset,
      aBatchStride: A.batchStride,
      transA: A.trans,
      b: B.data,
      bOffset: B.offset,
      bBatchStride: B.batchStride,
      transB: B.trans,
      c,
      accumulate: false,
    });
  }
  const out = new Tensor(c, [...batchShape, m, n]);
  return record(out, "matmul", [a, b], (g, needs) => [
    // dA = dC · Bᵀ, dB = Aᵀ · dC, summed over the batch dims each operand was broadcast along.
    needs[0] ? sumToShape(batchedMatmul(g, transpose(b, -1, -2), g.shape, [n, k]), a.shape) : null,
    needs[1] ? sumToShape(batchedMatmul(transpose(a, -1, -2), g, [k, m], g.shape), b.shape) : null,
  ]);
}

/**
 * Matrix product like torch.matmul: vector·vector → scalar, matrix·vector → vector,
 * batched (…, m, k) @ (…, k, n) → (…, m, n) with broadcasting of the batch dims.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor("matmul", "first argument", a);
  assertTensor("matmul", "second argument", b);
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new TypeError(`matmul: expected float32 tensors, got ${a.dtype} and ${b.dtype}`);
  }
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(`matmul: both arguments need at least 1 dimension, got shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  }
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.ndim === 1 ? unsqueeze(b, -1) : b;
  let out = batchedMatmul(a2, b2, a.shape, b.shape);
  if (b.ndim === 1) out = squeeze(out, -1);
  if (a.ndim === 1) out = squeeze(out, a.ndim === 1 && b.ndim === 1 ? -1 : -2);
  return out;
}
