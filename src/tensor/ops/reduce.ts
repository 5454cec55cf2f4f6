// Reductions over dims: sum, mean, max, min, argmax, argmin, logsumexp, var, std.
//
// `dim` may be a number, an array of numbers, or omitted (reduce everything); negative dims
// count from the end; `keepdim` keeps reduced dims as size 1. float32 goes through the
// backend's (outer, size, inner) kernels one dim at a time; int32 / bool use plain loops
// (sum of int32 or bool gives int32).
import { getBackend } from "../../backend/index.js";
import { record } from "../autograd.js";
import { normDim, numelOf, sameShape, shapeStr, type Shape } from "../shape.js";
import { Tensor, assertTensor } from "../tensor.js";
import { add, div, exp, log, mul, sqrt, sub } from "./elementwise.js";
import { expand, reshape } from "./views.js";

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

export interface VarOptions {
  /** Subtracted from the count in the denominator: 1 = unbiased (default, like torch), 0 = biased. */
  correction?: number;
  keepdim?: boolean;
}

/** Sorted, de-duplicated, non-negative dims; all dims when `dim` is omitted. */
function normDims(op: string, dim: number | readonly number[] | null | undefined, ndim: number): number[] {
  if (dim === undefined || dim === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dim === "number" ? [dim] : dim;
  if (!Array.isArray(list)) throw new TypeError(`${op}: dim must be a number or an array of numbers`);
  const ds = list.map((d) => normDim(op, d, ndim));
  if (new Set(ds).size !== ds.length) throw new RangeError(`${op}: dim [${list.join(", ")}] repeats a dimension`);
  return ds.sort((a, b) => a - b);
}

/** The shape after reducing `dims`: size 1 there (keepdim) or removed. */
function reducedShape(shape: Shape, dims: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((s, i) => {
    if (!dims.includes(i)) out.push(s);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** Splits a shape around `d` into the (outer, size, inner) the kernels take. */
function splitAround(shape: Shape, d: number): [number, number, number] {
  return [numelOf(shape.slice(0, d)), shape[d], numelOf(shape.slice(d + 1))];
}

/** Plain-loop reduction of one dim for int32 / bool data. */
function reduceLoop(
  x: ArrayLike<number>,
  outer: number,
  size: number,
  inner: number,
  init: number,
  f: (acc: number, v: number) => number,
): number[] {
  const out = new Array<number>(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc = init;
      for (let s = 0; s < size; s++) acc = f(acc, x[(o * size + s) * inner + j]);
      out[o * inner + j] = acc;
    }
  }
  return out;
}

type Kind = "sum" | "max" | "min";

/** Reduces `dims` of x (values only, no graph), keeping them as size 1. */
function reduceValues(op: string, kind: Kind, x: Tensor, dims: readonly number[]): Tensor {
  let shape = x.shape.slice();
  if (kind !== "sum" && dims.some((d) => shape[d] === 0)) {
    throw new RangeError(`${op}: cannot reduce an empty dimension (input shape ${shapeStr(x.shape)})`);
  }
  if (x.dtype === "float32") {
    let data = x.data() as Float32Array;
    // Reducing everything of a contiguous buffer is one kernel call.
    const all = dims.length === x.ndim;
    const steps = all
      ? [[1, data.length, 1]]
      : dims
          .slice()
          .reverse()
          .map((d) => {
            const [outer, size, inner] = splitAround(shape, d);
            shape[d] = 1;
            return [outer, size, inner];
          });
    for (const [outer, size, inner] of steps) {
      const out = new Float32Array(outer * inner);
      getBackend().reduce(kind, data, outer, size, inner, out);
      data = out;
    }
    if (all) shape = shape.map(() => 1);
    return new Tensor(data, shape);
  }
  let data: ArrayLike<number> = x.data();
  const f = kind === "sum" ? (a: number, v: number) => a + v : kind === "max" ? Math.max : Math.min;
  const init = kind === "sum" ? 0 : kind === "max" ? -Infinity : Infinity;
  for (const d of dims.slice().reverse()) {
    const [outer, size, inner] = splitAround(shape, d);
    data = reduceLoop(data, outer, size, inner, init, f);
    shape[d] = 1;
  }
  // sum of bool counts as int32; max/min keep the dtype.
  const outDtype = kind === "sum" ? "int32" : x.dtype;
  const out = outDtype === "bool" ? Uint8Array.from(data) : Int32Array.from(data);
  return new Tensor(out, shape);
}

/** Sum over `dim` (all dims when omitted). */
export function sum(x: Tensor, dim?: number | readonly number[] | null, keepdim = false): Tensor {
  assertTensor("sum", "input", x);
  const dims = normDims("sum", dim, x.ndim);
  const kept = reduceValues("sum", "sum", x, dims);
  const out = keepdim ? kept : reshape(kept, reducedShape(x.shape, dims, false));
  if (x.dtype !== "float32") return out;
  return record(out, "sum", [x], (g) => [expand(reshape(g, kept.shape), x.shape)]);
}

/** Mean over `dim` (all dims when omitted); float32 only. */
export function mean(x: Tensor, dim?: number | readonly number[] | null, keepdim = false): Tensor {
  assertTensor("mean", "input", x);
  if (x.dtype !== "float32") throw new TypeError(`mean: expected a float32 tensor, got ${x.dtype} (convert explicitly with .float())`);
  const dims = normDims("mean", dim, x.ndim);
  const count = numelOf(dims.map((d) => x.shape[d]));
  return div(sum(x, dims, keepdim), count);
}

/** Sums `g` over the dims that broadcasting expanded, giving a tensor of `shape` (autograd's unbroadcast). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  return reshape(sum(g, dims, true), shape);
}

// ---------------------------------------------------------------------------------------
// max / min / argmax / argmin
// ---------------------------------------------------------------------------------------

/** Indices of the max (min) along one dim, first on ties. Kept as size 1. */
function argValues(op: "argmax" | "argmin", x: Tensor, d: number): Int32Array {
  if (x.shape[d] === 0) throw new RangeError(`${op}: cannot reduce an empty dimension (input shape ${shapeStr(x.shape)})`);
  const [outer, size, inner] = splitAround(x.shape, d);
  const out = new Int32Array(outer * inner);
  if (x.dtype === "float32") {
    getBackend().argReduce(op, x.data() as Float32Array, outer, size, inner, out);
    return out;
  }
  const data = x.data();
  const better = op === "argmax" ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = 0;
      for (let s = 1; s < size; s++) {
        if (better(data[(o * size + s) * inner + j], data[(o * size + best) * inner + j])) best = s;
      }
      out[o * inner + j] = best;
    }
  }
  return out;
}

/** The gradient of picking x[..., idx, ...] along d: g scattered to those positions. */
function scatterPicked(x: Tensor, d: number, idx: Int32Array, g: Tensor): Tensor {
  const [outer, size, inner] = splitAround(x.shape, d);
  const gv = g.data() as Float32Array;
  const gx = new Float32Array(x.numel);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) gx[(o * size + idx[o * inner + j]) * inner + j] = gv[o * inner + j];
  }
  return new Tensor(gx, x.shape);
}

function extremeDim(op: "max" | "min", x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  assertTensor(op, "input", x);
  const d = normDim(op, dim, x.ndim);
  const idx = argValues(op === "max" ? "argmax" : "argmin", x, d);
  const keptShape = reducedShape(x.shape, [d], true);
  const outShape = reducedShape(x.shape, [d], keepdim);
  let values = reshape(reduceValues(op, op, x, [d]), outShape);
  if (x.dtype === "float32") {
    values = record(values, op, [x], (g) => [scatterPicked(x, d, idx, reshape(g, keptShape))]);
  }
  return { values, indices: new Tensor(idx, outShape) };
}

function extremeAll(op: "max" | "min", x: Tensor): Tensor {
  assertTensor(op, "input", x);
  const flat = reshape(x.detach(), [x.numel]);
  const { values, indices } = extremeDim(op, flat, 0, false);
  if (x.dtype !== "float32") return values;
  const at = indices.item();
  return record(values.detach(), op, [x], (g) => {
    const gx = new Float32Array(x.numel);
    gx[at] = g.item();
    return [new Tensor(gx, x.shape)];
  });
}

/** Largest element (a 0-d tensor). */
export function maxAll(x: Tensor): Tensor {
  return extremeAll("max", x);
}
export function minAll(x: Tensor): Tensor {
  return extremeAll("min", x);
}
/** Largest elements along `dim` and their indices (int32), like torch.max(x, dim). */
export function maxDim(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return extremeDim("max", x, dim, keepdim);
}
export function minDim(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return extremeDim("min", x, dim, keepdim);
}

/** max(x) without dim, or { values, indices } with dim (torch semantics). */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return dim === undefined ? maxAll(x) : maxDim(x, dim, keepdim);
}
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return dim === undefined ? minAll(x) : minDim(x, dim, keepdim);
}

function argExtreme(op: "argmax" | "argmin", x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  assertTensor(op, "input", x);
  if (dim === undefined) {
    // Index into the flattened tensor, like torch.argmax(x).
    return new Tensor(argValues(op, reshape(x.detach(), [x.numel]), 0), []);
  }
  const d = normDim(op, dim, x.ndim);
  return new Tensor(argValues(op, x, d), reducedShape(x.shape, [d], keepdim));
}

/** Index (int32) of the largest element along `dim`, or in the flattened tensor. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme("argmax", x, dim, keepdim);
}
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme("argmin", x, dim, keepdim);
}

// ---------------------------------------------------------------------------------------
// Composite reductions (their gradients come from the ops they are made of)
// ---------------------------------------------------------------------------------------

/** log(sum(exp(x), dim)), computed stably by factoring out the maximum. */
export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  assertTensor("logsumexp", "input", x);
  if (x.dtype !== "float32") throw new TypeError(`logsumexp: expected a float32 tensor, got ${x.dtype}`);
  const dims = normDims("logsumexp", dim, x.ndim);
  let m = reduceValues("logsumexp", "max", x.detach(), dims);
  // A slice of all ±inf has no finite max: shift by 0 there instead (gives -inf / inf, not NaN).
  const mv = m.data() as Float32Array;
  if (mv.some((v) => !Number.isFinite(v)))
    m = new Tensor(
      mv.map((v) => (Number.isFinite(v) ? v : 0)),
      m.shape,
    );
  const out = add(log(sum(exp(sub(x, m)), dims, true)), m);
  return keepdim ? out : reshape(out, reducedShape(x.shape, dims, false));
}

/** Variance over `dim` with Bessel's correction by default (correction: 1), like torch.var. */
export function variance(x: Tensor, dim?: number | readonly number[] | null, opts: VarOptions = {}): Tensor {
  assertTensor("var", "input", x);
  if (x.dtype !== "float32") throw new TypeError(`var: expected a float32 tensor, got ${x.dtype}`);
  const correction = opts.correction ?? 1;
  const dims = normDims("var", dim, x.ndim);
  const count = numelOf(dims.map((d) => x.shape[d]));
  const mu = mean(x, dims, true);
  const d = sub(x, mu);
  const ss = sum(mul(d, d), dims, opts.keepdim ?? false);
  return div(ss, Math.max(count - correction, 0));
}

/** Standard deviation: sqrt(var). */
export function std(x: Tensor, dim?: number | readonly number[] | null, opts: VarOptions = {}): Tensor {
  return sqrt(variance(x, dim, opts));
}
