// Plain loops over strided views, for data movement the kernel interface does not cover
// (writing into a view, broadcasting a tensor to a shape). Moving values is exact, so these
// give the same answer whichever backend is active.
import type { DataArray } from "../backend/backend.js";
import { getBackend, jsBackend } from "../backend/index.js";
import { allocate, allocateOutput, type DType } from "./dtype.js";
import { broadcastStrides, contiguousStrides, numelOf, sameShape, type Shape } from "./shape.js";
import type { Tensor } from "./tensor.js";

/** Calls fn(flatIndex, storageIndex) for each element of a strided view, row-major. */
export function forEachStrided(shape: Shape, strides: readonly number[], offset: number, fn: (i: number, s: number) => void): void {
  const n = numelOf(shape);
  if (n === 0) return;
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let s = offset;
  for (let i = 0; i < n; i++) {
    fn(i, s);
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      s += strides[d];
      if (idx[d] < shape[d]) break;
      s -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** dst view positions ← values (contiguous, dst's shape). */
export function scatterStrided(values: DataArray, dst: DataArray, offset: number, shape: Shape, strides: readonly number[]): void {
  forEachStrided(shape, strides, offset, (i, s) => {
    dst[s] = values[i];
  });
}

function backendFor(dtype: DType) {
  return dtype === "float32" ? getBackend() : jsBackend;
}

/**
 * The elements of `t` broadcast to `shape`, as a contiguous typed array.
 * Returns t's own storage (no copy) when it is already contiguous with that shape.
 */
export function materialize(t: Tensor, shape: Shape): DataArray {
  if (sameShape(t.shape, shape)) return t.data();
  const out = allocate(t.dtype, numelOf(shape));
  backendFor(t.dtype).copyStrided(t.deviceStorage, t.offset, shape, broadcastStrides(t.shape, t.strides, shape), out);
  return out;
}

/**
 * A contiguous copy of the view's elements (always a fresh array). `forKernels`: the copy is
 * only wrapped in a Tensor, never read here, so a GPU backend may keep it (allocateOutput).
 */
export function copyOut(t: Tensor, forKernels = false): DataArray {
  const out = forKernels ? allocateOutput(t.dtype, t.numel) : allocate(t.dtype, t.numel);
  backendFor(t.dtype).copyStrided(t.deviceStorage, t.offset, t.shape, t.strides, out);
  return out;
}

export { contiguousStrides };
