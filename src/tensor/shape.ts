// Shape arithmetic: sizes, strides, dimension indices and broadcasting.
// Pure functions on number arrays; no tensors here.

export type Shape = readonly number[];

/** "[2, 3]" — how shapes appear in error messages. */
export function shapeStr(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function numelOf(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major strides of a contiguous tensor of this shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/**
 * Validates a size argument (a number or an array of numbers) and returns it as an array.
 * Every entry must be a non-negative integer.
 */
export function checkSize(op: string, size: unknown): number[] {
  const arr = typeof size === "number" ? [size] : size;
  if (!Array.isArray(arr)) {
    throw new TypeError(`${op}: size must be a number or an array of numbers, got ${describe(size)}`);
  }
  for (const s of arr) {
    if (typeof s !== "number" || !Number.isInteger(s) || s < 0) {
      throw new RangeError(`${op}: size must contain non-negative integers, got [${arr.map(String).join(", ")}]`);
    }
  }
  if (numelOf(arr) > 2 ** 32) throw new RangeError(`${op}: size ${shapeStr(arr)} has too many elements`);
  return arr.slice();
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "object") return Array.isArray(x) ? "an array" : "an object";
  return `${typeof x} ${String(x)}`;
}

/** Resolves a possibly negative dim against `ndim` (for unsqueeze, pass ndim + 1). */
export function normDim(op: string, dim: number, ndim: number): number {
  if (typeof dim !== "number" || !Number.isInteger(dim)) {
    throw new TypeError(`${op}: dim must be an integer, got ${String(dim)}`);
  }
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (dim < lo || dim > hi) {
    throw new RangeError(
      `${op}: dim ${dim} is out of range for a tensor with ${ndim} dimension${ndim === 1 ? "" : "s"} (expected ${lo}..${hi})`,
    );
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** Broadcast shape of two shapes, numpy rules; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const nd = Math.max(a.length, b.length);
  const out = new Array<number>(nd);
  for (let i = 0; i < nd; i++) {
    const da = a[a.length - nd + i] ?? 1;
    const db = b[b.length - nd + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides that read a tensor of (shape, strides) as if it had shape `target` (broadcasting):
 * missing leading dims and size-1 dims that grow get stride 0.
 */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const nd = target.length;
  const out = new Array<number>(nd).fill(0);
  const off = nd - shape.length;
  for (let i = 0; i < shape.length; i++) {
    out[off + i] = shape[i] === target[off + i] ? strides[i] : 0;
  }
  return out;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
