// Shape and view ops: reshape, permute, slice, expand, ... They share the input's storage
// (no copy) whenever the layout allows; their gradients move the output gradient back to
// the input's shape.
import { record } from "../autograd.js";
import { allocate } from "../dtype.js";
import { type Shape, broadcastStrides, contiguousStrides, normDim, numelOf, sameShape, shapeStr } from "../shape.js";
import { copyOut, materialize, scatterStrided, forEachStrided } from "../strided.js";
import { Tensor, assertTensor } from "../tensor.js";
import { sumToShape } from "./reduce.js";
import { positiveInt } from "../../util/validate.js";

/** A view of x's storage with another geometry, recorded in the graph with `backward`. */
function makeView(
  x: Tensor,
  name: string,
  shape: Shape,
  strides: readonly number[],
  offset: number,
  backward: (g: Tensor) => Tensor,
): Tensor {
  const out = new Tensor(x.deviceStorage, shape, strides, offset);
  return record(out, name, [x], (g) => [backward(g)]);
}

/** Resolves one -1 in a requested shape and checks the element count. */
function inferShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  const out = shape.slice();
  let infer = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    const s = out[i];
    if (s === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dimension can be -1, got ${shapeStr(shape)}`);
      infer = i;
    } else if (!Number.isInteger(s) || s < 0) {
      throw new RangeError(`${op}: invalid shape ${shapeStr(shape)} (sizes must be non-negative integers or one -1)`);
    } else {
      known *= s;
    }
  }
  if (infer >= 0) {
    if (known === 0 || x.numel % known !== 0) {
      throw new RangeError(`${op}: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(x.shape)}`);
    }
    out[infer] = x.numel / known;
  }
  if (numelOf(out) !== x.numel) {
    throw new RangeError(`${op}: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(x.shape)} (${x.numel} elements)`);
  }
  return out;
}

/**
 * Strides that let `newShape` view the same elements as (oldShape, oldStrides), or null when
 * no such strides exist (the view would need a copy). PyTorch's rule: split or merge only
 * dims that are contiguous with each other.
 */
function viewStrides(oldShape: Shape, oldStrides: readonly number[], newShape: Shape): number[] | null {
  if (numelOf(oldShape) === 0 || oldShape.length === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d];
    // End of a chunk of dims that are contiguous with each other?
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBaseStride = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? newStrides : null;
}

/** Same elements in a new shape; a view when the layout allows, else a copy. One size may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor("reshape", "input", x);
  const target = inferShape("reshape", x, shape);
  const strides = viewStrides(x.shape, x.strides, target);
  if (strides) return makeView(x, "reshape", target, strides, x.offset, (g) => reshape(g, x.shape));
  return reshape(contiguous(x), target);
}

/** Like reshape but never copies: throws when the layout does not allow a view. */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor("view", "input", x);
  const target = inferShape("view", x, shape);
  const strides = viewStrides(x.shape, x.strides, target);
  if (!strides) {
    throw new Error(
      `view: shape ${shapeStr(target)} is not compatible with the input's layout (shape ${shapeStr(x.shape)}, strides ${shapeStr(x.strides)}); use reshape() or contiguous().view()`,
    );
  }
  return makeView(x, "view", target, strides, x.offset, (g) => reshape(g, x.shape));
}

/** Merges dims startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim("flatten", startDim, x.ndim);
  const e = normDim("flatten", endDim, x.ndim);
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), numelOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Reorders dims: out.shape[i] = x.shape[dims[i]]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  assertTensor("permute", "input", x);
  if (dims.length !== x.ndim) {
    throw new RangeError(`permute: got ${dims.length} dims [${dims.join(", ")}] for a tensor of shape ${shapeStr(x.shape)}`);
  }
  const p = dims.map((d) => normDim("permute", d, x.ndim));
  if (new Set(p).size !== p.length) throw new RangeError(`permute: repeated dim in [${dims.join(", ")}]`);
  const inverse = new Array<number>(p.length);
  p.forEach((d, i) => (inverse[d] = i));
  return makeView(
    x,
    "permute",
    p.map((d) => x.shape[d]),
    p.map((d) => x.strides[d]),
    x.offset,
    (g) => permute(g, inverse),
  );
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normDim("transpose", dim0, x.ndim);
  const b = normDim("transpose", dim1, x.ndim);
  const dims = x.shape.map((_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

export function t(x: Tensor): Tensor {
  if (x.ndim > 2) throw new RangeError(`t: expects a tensor with at most 2 dims, got shape ${shapeStr(x.shape)}; use transpose(-2, -1)`);
  return x.ndim < 2 ? x : transpose(x, 0, 1);
}

/** Inserts a dim of size 1 at `dim` (dim may be ndim, or negative from the end). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim("unsqueeze", dim, x.ndim + 1);
  const shape = x.shape.slice();
  const strides = x.strides.slice();
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d] * x.shape[d] : 1);
  return makeView(x, "unsqueeze", shape, strides, x.offset, (g) => squeeze(g, d));
}

/** Removes dims of size 1 (all of them, or the given ones when they have size 1). */
export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  const which = dim === undefined ? null : new Set((Array.isArray(dim) ? dim : [dim]).map((d) => normDim("squeeze", d, x.ndim)));
  const shape: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < x.ndim; i++) {
    const drop = x.shape[i] === 1 && (which === null || which.has(i));
    if (!drop) {
      shape.push(x.shape[i]);
      strides.push(x.strides[i]);
    }
  }
  if (shape.length === x.ndim) return x;
  return makeView(x, "squeeze", shape, strides, x.offset, (g) => reshape(g, x.shape));
}

/**
 * Elements start, start+step, ... < end along `dim` (Python slicing: negative indices count
 * from the end, out-of-range bounds are clamped). step must be positive.
 */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  const d = normDim("slice", dim, x.ndim);
  const n = x.shape[d];
  for (const [name, v] of [
    ["start", start],
    ["end", end],
  ] as const) {
    if (v !== undefined && v !== null && !Number.isInteger(v)) throw new TypeError(`slice: ${name} must be an integer, got ${v}`);
  }
  positiveInt("slice: step", step);
  const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = start === undefined || start === null ? 0 : clampIndex(start);
  const e = end === undefined || end === null ? n : clampIndex(end);
  const len = e > s ? Math.ceil((e - s) / step) : 0;
  const shape = x.shape.slice();
  const strides = x.strides.slice();
  shape[d] = len;
  strides[d] = x.strides[d] * step;
  const offset = x.offset + (len > 0 ? s * x.strides[d] : 0);
  return makeView(x, "slice", shape, strides, offset, (g) => {
    // Gradient: zeros of x's shape with g written where the slice came from.
    const gx = zerosLikeFloat(x.shape);
    const part = slice(gx, d, s, e, step);
    scatterStrided(g.data(), gx.storage, part.offset, part.shape, part.strides);
    return gx;
  });
}

/** `length` elements from `start` along `dim`; unlike slice, out-of-range is an error. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim("narrow", dim, x.ndim);
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(start) || !Number.isInteger(length) || length < 0 || s < 0 || s + length > n) {
    throw new RangeError(`narrow: start ${start} and length ${length} are out of range for dim ${dim} of size ${n}`);
  }
  return slice(x, d, s, s + length);
}

/** The slice at `index` along `dim`, with that dim removed. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim("select", dim, x.ndim);
  const n = x.shape[d];
  const i = index < 0 ? index + n : index;
  if (!Number.isInteger(index) || i < 0 || i >= n) {
    throw new RangeError(`select: index ${index} is out of range for dim ${dim} of size ${n}`);
  }
  return squeeze(slice(x, d, i, i + 1), d);
}

/** Broadcasts size-1 dims (and new leading dims) to `shape` without copying; -1 keeps a size. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor("expand", "input", x);
  if (shape.length < x.ndim) {
    throw new RangeError(`expand: shape ${shapeStr(shape)} has fewer dims than the input ${shapeStr(x.shape)}`);
  }
  const off = shape.length - x.ndim;
  const target = shape.map((s, i) => {
    const own = i >= off ? x.shape[i - off] : 1;
    if (s === -1) {
      if (i < off) throw new RangeError(`expand: -1 is not allowed for a new leading dim in ${shapeStr(shape)}`);
      return own;
    }
    if (!Number.isInteger(s) || s < 0 || (own !== 1 && own !== s)) {
      throw new RangeError(`expand: cannot expand shape ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
    }
    return s;
  });
  if (sameShape(target, x.shape)) return x;
  return makeView(x, "expand", target, broadcastStrides(x.shape, x.strides, target), x.offset, (g) => sumToShape(g, x.shape));
}

/** x itself when contiguous, else a row-major copy (gradient passes through unchanged). */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  return clone(x);
}

/** A contiguous copy, recorded in the graph. */
export function clone(x: Tensor): Tensor {
  const out = new Tensor(copyOut(x, true), x.shape);
  return record(out, "clone", [x], (g) => [g]);
}

/** A contiguous copy outside the graph (internal). */
export function contiguousCopy(x: Tensor): Tensor {
  return new Tensor(copyOut(x, true), x.shape);
}

function zerosLikeFloat(shape: Shape): Tensor {
  return new Tensor(new Float32Array(numelOf(shape)), shape);
}

/** Writes src (broadcast to dst's shape, same dtype) into dst's elements (in place). */
export function writeInto(dst: Tensor, src: Tensor, op: string): void {
  if (src.dtype !== dst.dtype) throw new TypeError(`${op}: dtype mismatch: destination is ${dst.dtype}, source is ${src.dtype}`);
  // Check broadcastability without reading out of bounds.
  const off = dst.ndim - src.ndim;
  if (off < 0 || src.shape.some((s, i) => s !== 1 && s !== dst.shape[off + i])) {
    throw new RangeError(`${op}: source shape ${shapeStr(src.shape)} cannot be broadcast to ${shapeStr(dst.shape)}`);
  }
  // Copy the source first: it may alias the destination.
  const values = sameShape(src.shape, dst.shape) ? copyOut(src) : materialize(src, dst.shape);
  scatterStrided(values, dst.storage, dst.offset, dst.shape, dst.strides);
}

/** Sets every element of the view to `value` (in place). */
export function fillInto(dst: Tensor, value: number | boolean): void {
  const v = typeof value === "boolean" ? (value ? 1 : 0) : value;
  if (dst.dtype === "int32" && !Number.isInteger(v)) throw new TypeError(`fill_: ${value} is not an integer (tensor is int32)`);
  if (dst.dtype === "bool" && v !== 0 && v !== 1) throw new TypeError(`fill_: ${value} is not a boolean (tensor is bool)`);
  const storage = dst.storage; // once: the getter reads back what a GPU holds
  forEachStrided(dst.shape, dst.strides, dst.offset, (_i, s) => {
    storage[s] = v;
  });
}

export { allocate };
