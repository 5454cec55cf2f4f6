// Creating tensors, with PyTorch's names and semantics:
// tensor, zeros, ones, empty, full, zerosLike, onesLike, fullLike, emptyLike, arange, linspace,
// eye, rand, randn, randint, randperm.
//
// Sizes are a number or an array of numbers (`zeros([2, 3])`, `zeros(5)`). When no dtype is
// given it is inferred like PyTorch: booleans → bool, integers → int32, anything fractional →
// float32 (zeros / ones / empty / rand / randn default to float32).
import type { DataArray } from "../backend/backend.js";
import { deviceArray } from "../backend/device_arrays.js";
import { type DType, allocate, allocateOutput, checkDType } from "./dtype.js";
import { type Generator, defaultGenerator } from "./random.js";
import { checkSize, numelOf, shapeStr } from "./shape.js";
import { Tensor } from "./tensor.js";

export type Size = number | readonly number[];

export interface TensorOptions {
  dtype?: DType;
  /** Only "cpu" exists; accepted for PyTorch-shaped code. */
  device?: "cpu";
  requiresGrad?: boolean;
}

export interface RandomOptions extends TensorOptions {
  /** The random stream (default: the global one seeded by manualSeed). */
  generator?: Generator;
}

/** Nested arrays of numbers or booleans (a scalar is a 0-D tensor). */
export type NestedData = number | boolean | readonly NestedData[];

function checkDevice(op: string, device: unknown): void {
  if (device !== undefined && device !== "cpu") throw new TypeError(`${op}: unknown device ${JSON.stringify(device)} (only "cpu" exists)`);
}

/** Wraps storage into a tensor and applies requiresGrad. */
function finish(op: string, storage: DataArray, shape: readonly number[], opts: TensorOptions): Tensor {
  checkDevice(op, opts.device);
  const t = new Tensor(storage, shape);
  if (opts.requiresGrad) {
    if (t.dtype !== "float32") throw new TypeError(`${op}: only float32 tensors can require gradients, got dtype ${t.dtype}`);
    t.requiresGrad_(true);
  }
  return t;
}

function inferDType(value: number | boolean): DType {
  if (typeof value === "boolean") return "bool";
  return Number.isInteger(value) ? "int32" : "float32";
}

/** Stores JS values into a typed array of `dtype`, refusing values that do not fit. */
function storeValues(op: string, values: ArrayLike<number | boolean>, dtype: DType): DataArray {
  const out = allocate(dtype, values.length);
  for (let i = 0; i < values.length; i++) {
    const raw = values[i];
    const v = typeof raw === "boolean" ? (raw ? 1 : 0) : raw;
    if (dtype === "int32") {
      if (!Number.isInteger(v)) throw new TypeError(`${op}: value ${v} at flat index ${i} is not an integer (dtype int32)`);
      if (v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`${op}: value ${v} at flat index ${i} does not fit in int32`);
      out[i] = v;
    } else if (dtype === "bool") {
      out[i] = v !== 0 ? 1 : 0;
    } else {
      out[i] = v;
    }
  }
  return out;
}

/** Shape of nested arrays, checking that they are rectangular (not ragged). */
function nestedShape(data: NestedData): number[] {
  const shape: number[] = [];
  let cur: NestedData = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flattenNested(data: NestedData, shape: readonly number[]): (number | boolean)[] {
  const out: (number | boolean)[] = [];
  const walk = (node: NestedData, depth: number, path: number[]): void => {
    const where = path.length ? `at [${path.join("][")}]` : "at the top level";
    if (depth === shape.length) {
      if (Array.isArray(node))
        throw new RangeError(`tensor: ragged nested array: unexpected array ${where} (expected a number, shape ${shapeStr(shape)})`);
      if (typeof node !== "number" && typeof node !== "boolean") {
        throw new TypeError(`tensor: expected numbers or booleans, got ${node === null ? "null" : typeof node} ${where}`);
      }
      out.push(node);
      return;
    }
    if (!Array.isArray(node)) {
      throw new RangeError(`tensor: ragged nested array: expected an array of length ${shape[depth]} ${where}, got ${typeof node}`);
    }
    if (node.length !== shape[depth]) {
      throw new RangeError(`tensor: ragged nested array: expected length ${shape[depth]} ${where}, got ${node.length}`);
    }
    node.forEach((child, i) => walk(child, depth + 1, [...path, i]));
  };
  walk(data, 0, []);
  return out;
}

export interface TensorDataOptions extends TensorOptions {
  /** Shape for flat data (a typed array or a flat JS array); the default is the data's own shape. */
  shape?: readonly number[];
}

/**
 * A tensor holding a copy of `data`: a number, a boolean, nested arrays of them, a typed
 * array, or another tensor. The dtype is inferred when not given (booleans → bool, all
 * integers → int32, otherwise float32; Float32Array/Float64Array → float32, other typed
 * arrays → int32).
 */
export function tensor(data: NestedData | ArrayLike<number> | Tensor, opts: TensorDataOptions = {}): Tensor {
  let values: ArrayLike<number | boolean>;
  let shape: number[];
  let inferred: DType;
  if (data instanceof Tensor) {
    values = data.data();
    shape = data.shape.slice();
    inferred = data.dtype;
  } else if (ArrayBuffer.isView(data)) {
    if (data instanceof DataView) throw new TypeError("tensor: a DataView is not supported; pass a typed array");
    values = data as unknown as ArrayLike<number>;
    shape = [values.length];
    inferred = data instanceof Float32Array || data instanceof Float64Array ? "float32" : "int32";
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      throw new TypeError("tensor: 64-bit integer arrays are not supported; convert to Int32Array");
    }
  } else if (typeof data === "number" || typeof data === "boolean" || Array.isArray(data)) {
    shape = nestedShape(data as NestedData);
    const flat = flattenNested(data as NestedData, shape);
    values = flat;
    const kinds = new Set(flat.map((v) => typeof v));
    if (kinds.size > 1) throw new TypeError("tensor: cannot mix booleans and numbers (give a dtype or convert the data)");
    inferred =
      flat.length === 0 ? "float32" : typeof flat[0] === "boolean" ? "bool" : flat.every((v) => Number.isInteger(v)) ? "int32" : "float32";
  } else {
    throw new TypeError(
      `tensor: expected a number, boolean, nested array, typed array or Tensor, got ${data === null ? "null" : typeof data}`,
    );
  }
  if (opts.shape !== undefined) {
    const s = checkSize("tensor", opts.shape);
    if (numelOf(s) !== values.length) {
      throw new RangeError(`tensor: shape ${shapeStr(s)} needs ${numelOf(s)} values, the data has ${values.length}`);
    }
    shape = s;
  }
  const dtype = opts.dtype === undefined ? inferred : checkDType("tensor", opts.dtype);
  return finish("tensor", storeValues("tensor", values, dtype), shape, opts);
}

/** A tensor of `size` filled with `fillValue`; dtype inferred from the value when not given. */
export function full(size: Size, fillValue: number | boolean, opts: TensorOptions = {}): Tensor {
  return filled("full", size, fillValue, opts);
}

/** full() under the name of the public function that called it (for error messages). */
function filled(op: string, size: Size, fillValue: number | boolean, opts: TensorOptions): Tensor {
  const shape = checkSize(op, size);
  if (typeof fillValue !== "number" && typeof fillValue !== "boolean") {
    throw new TypeError(`${op}: fillValue must be a number or a boolean, got ${fillValue === null ? "null" : typeof fillValue}`);
  }
  const dtype = opts.dtype === undefined ? inferDType(fillValue) : checkDType(op, opts.dtype);
  const one = storeValues(op, [fillValue], dtype)[0];
  const storage = allocateOutput(dtype, numelOf(shape)); // only this function holds it: a kernel may keep it on a GPU
  if (one !== 0) storage.fill(one);
  return finish(op, storage, shape, opts);
}

/** Zeros (float32 unless dtype says otherwise). */
export function zeros(size: Size, opts: TensorOptions = {}): Tensor {
  return filled("zeros", size, 0, { ...opts, dtype: opts.dtype ?? "float32" });
}

/** Ones (float32 unless dtype says otherwise). */
export function ones(size: Size, opts: TensorOptions = {}): Tensor {
  return filled("ones", size, 1, { ...opts, dtype: opts.dtype ?? "float32" });
}

/** An uninitialised tensor in PyTorch; here always zero-filled (typed arrays start at 0). */
export function empty(size: Size, opts: TensorOptions = {}): Tensor {
  return filled("empty", size, 0, { ...opts, dtype: opts.dtype ?? "float32" });
}

/** Options of the *Like functions: the template's dtype unless overridden. */
function likeOpts(op: string, x: Tensor, opts: TensorOptions): TensorOptions {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor`);
  return { ...opts, dtype: opts.dtype ?? x.dtype };
}

export function zerosLike(x: Tensor, opts: TensorOptions = {}): Tensor {
  return zeros(x.shape, likeOpts("zerosLike", x, opts));
}
export function onesLike(x: Tensor, opts: TensorOptions = {}): Tensor {
  return ones(x.shape, likeOpts("onesLike", x, opts));
}
export function emptyLike(x: Tensor, opts: TensorOptions = {}): Tensor {
  return empty(x.shape, likeOpts("emptyLike", x, opts));
}
export function fullLike(x: Tensor, fillValue: number | boolean, opts: TensorOptions = {}): Tensor {
  return full(x.shape, fillValue, likeOpts("fullLike", x, opts));
}

/**
 * Values start, start+step, ... < end. arange(5) is 0..4. int32 when all arguments are
 * integers, else float32 (or the given dtype).
 */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  for (const [name, v] of [
    ["start", start],
    ["end", end],
    ["step", step],
  ] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError(`arange: ${name} must be a finite number, got ${String(v)}`);
  }
  if (step === 0) throw new RangeError("arange: step must not be zero");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? ([start, end, step].every(Number.isInteger) ? "int32" : "float32");
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  return finish("arange", storeValues("arange", values, checkDType("arange", dtype)), [n], opts);
}

/** `steps` evenly spaced float32 values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  checkSize("linspace", steps);
  const values = new Array<number>(steps);
  for (let i = 0; i < steps; i++) values[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  return finish("linspace", storeValues("linspace", values, checkDType("linspace", opts.dtype ?? "float32")), [steps], opts);
}

/** The n × m identity matrix (m defaults to n). */
export function eye(n: number, m: number = n, opts: TensorOptions = {}): Tensor {
  const t = zeros([n, m], opts);
  const storage = t.cpuStorage(); // fresh: nothing to read back, and no reference kept
  for (let i = 0; i < Math.min(n, m); i++) storage[i * m + i] = 1;
  return t;
}

function floatOnly(op: string, opts: TensorOptions): void {
  if (opts.dtype !== undefined && opts.dtype !== "float32") throw new TypeError(`${op}: dtype must be float32, got ${opts.dtype}`);
}

/** Uniform samples in [0, 1) from the seeded generator. */
export function rand(size: Size, opts: RandomOptions = {}): Tensor {
  floatOnly("rand", opts);
  const shape = checkSize("rand", size);
  const out = deviceArray(numelOf(shape));
  (opts.generator ?? defaultGenerator).fillUniform(out);
  return finish("rand", out, shape, opts);
}

/** Standard normal samples (Box–Muller) from the seeded generator. */
export function randn(size: Size, opts: RandomOptions = {}): Tensor {
  floatOnly("randn", opts);
  const shape = checkSize("randn", size);
  const out = deviceArray(numelOf(shape));
  (opts.generator ?? defaultGenerator).fillNormal(out);
  return finish("randn", out, shape, opts);
}

/**
 * Uniform integers in [low, high): randint(low, high, size) or randint(high, size) with
 * size an array in the short form. int32 unless dtype says float32.
 */
export function randint(high: number, size: readonly number[], opts?: RandomOptions): Tensor;
export function randint(low: number, high: number, size: Size, opts?: RandomOptions): Tensor;
export function randint(a: number, b: number | readonly number[], c?: Size | RandomOptions, d?: RandomOptions): Tensor {
  let low: number;
  let high: number;
  let size: Size;
  let opts: RandomOptions;
  if (typeof b === "number") {
    [low, high, size, opts] = [a, b, c as Size, d ?? {}];
  } else {
    [low, high, size, opts] = [0, a, b, (c as RandomOptions | undefined) ?? {}];
  }
  if (size === undefined) throw new TypeError("randint: size is required: randint(low, high, size) or randint(high, [sizes])");
  const shape = checkSize("randint", size);
  const gen = opts.generator ?? defaultGenerator;
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`randint: need integers low < high, got low=${low}, high=${high}`);
  }
  const dtype = checkDType("randint", opts.dtype ?? "int32");
  const values = new Array<number>(numelOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = gen.randint(low, high);
  return finish("randint", storeValues("randint", values, dtype), shape, opts);
}

/** A random permutation of 0..n-1 (int32), Fisher–Yates with the seeded generator. */
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  checkSize("randperm", n);
  const gen = opts.generator ?? defaultGenerator;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = gen.randint(0, i + 1);
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return finish("randperm", out, [n], { ...opts, dtype: undefined });
}
