// Joining and splitting: cat, stack, split, chunk.
import { record } from "../autograd.js";
import { allocate } from "../dtype.js";
import { normDim, numelOf, shapeStr } from "../shape.js";
import { scatterStrided } from "../strided.js";
import { Tensor, assertTensor } from "../tensor.js";
import { narrow, unsqueeze } from "./views.js";
import { positiveInt } from "../../util/validate.js";

/** Concatenates tensors along `dim`; all other sizes and the dtype must match. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!tensors || typeof tensors.length !== "number" || tensors.length === 0)
    throw new RangeError("cat: expected a non-empty array of tensors");
  tensors.forEach((t, i) => assertTensor("cat", `tensors[${i}]`, t));
  const first = tensors[0];
  const d = normDim("cat", dim, first.ndim);
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    if (t.dtype !== first.dtype) throw new TypeError(`cat: dtype mismatch: tensors[0] is ${first.dtype}, tensors[${i}] is ${t.dtype}`);
    const ok = t.ndim === first.ndim && t.shape.every((s, j) => j === d || s === first.shape[j]);
    if (!ok) {
      throw new RangeError(`cat: shapes ${shapeStr(first.shape)} and ${shapeStr(t.shape)} (tensors[${i}]) do not match outside dim ${d}`);
    }
  }
  const shape = first.shape.slice();
  shape[d] = tensors.reduce((n, t) => n + t.shape[d], 0);
  const out = new Tensor(allocate(first.dtype, numelOf(shape)), shape);
  let start = 0;
  const starts: number[] = [];
  for (const t of tensors) {
    starts.push(start);
    const part = narrow(out, d, start, t.shape[d]);
    scatterStrided(t.data(), out.storage, part.offset, part.shape, part.strides);
    start += t.shape[d];
  }
  return record(out, "cat", [...tensors], (g, needs) => tensors.map((t, i) => (needs[i] ? narrow(g, d, starts[i], t.shape[d]) : null)));
}

/** Stacks same-shape tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!tensors || typeof tensors.length !== "number" || tensors.length === 0)
    throw new RangeError("stack: expected a non-empty array of tensors");
  tensors.forEach((t, i) => {
    assertTensor("stack", `tensors[${i}]`, t);
    if (t.ndim !== tensors[0].ndim || t.shape.some((s, j) => s !== tensors[0].shape[j])) {
      throw new RangeError(
        `stack: all tensors must have the same shape, got ${shapeStr(tensors[0].shape)} and ${shapeStr(t.shape)} (tensors[${i}])`,
      );
    }
  });
  const d = normDim("stack", dim, tensors[0].ndim + 1);
  return cat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}

/**
 * Splits into views along `dim`: pieces of `size` (the last may be smaller), or of the
 * given sizes (which must add up to the dim's size).
 */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  assertTensor("split", "input", x);
  const d = normDim("split", dim, x.ndim);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSections === "number") {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections <= 0) {
      throw new RangeError(`split: size must be a positive integer, got ${sizeOrSections}`);
    }
    sizes = [];
    for (let s = 0; s < n; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, n - s));
    if (n === 0) sizes.push(0);
  } else {
    sizes = sizeOrSections.slice();
    const total = sizes.reduce((a, b) => a + b, 0);
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || total !== n) {
      throw new RangeError(`split: sections [${sizes.join(", ")}] do not add up to the size ${n} of dim ${dim}`);
    }
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(narrow(x, d, start, s));
    start += s;
  }
  return out;
}

/** Splits into `chunks` pieces of ceil(size / chunks) along `dim` (the last may be smaller, fewer may result). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  positiveInt("chunk: chunks", chunks);
  const d = normDim("chunk", dim, x.ndim);
  const size = Math.max(1, Math.ceil(x.shape[d] / chunks));
  return split(x, size, d);
}
