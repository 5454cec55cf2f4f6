// Element-wise ops with numpy/PyTorch broadcasting: arithmetic, math functions, comparisons,
// where / maskedFill, clamp, logical ops and dtype conversion.
//
// Dtype rules (no silent conversions):
// - float32 with float32 → float32; int32 with int32 → int32 (div gives float32, like torch).
// - A float32 tensor with an int32 tensor is a TypeError naming the op and both dtypes.
// - A JS number adapts to the tensor's dtype; a fractional number with an int32 tensor is an error.
// - Math functions (exp, log, ...) need float32; neg and abs also accept int32.
// - Arithmetic on bool tensors is an error; use logicalAnd/logicalOr, or convert with .int().
import type { BinaryOp, UnaryOp } from "../../backend/backend.js";
import { getBackend, jsBackend } from "../../backend/index.js";
import { deviceArray } from "../../backend/device_arrays.js";
import { record } from "../autograd.js";
import { type DType, allocate, allocateOutput } from "../dtype.js";
import { broadcastShapes, broadcastStrides, numelOf, shapeStr } from "../shape.js";
import { materialize } from "../strided.js";
import { Tensor, type TensorLike } from "../tensor.js";
import { sumToShape } from "./reduce.js";

type ArithOp = "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum";
type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";

function describe(x: unknown): string {
  if (x instanceof Tensor) return `a ${x.dtype} tensor`;
  if (x === null) return "null";
  return `${typeof x} ${String(x)}`;
}

/** A 0-d tensor holding `value` in `dtype`, or a TypeError if the value does not fit. */
export function scalarTensor(op: string, value: number | boolean, dtype: DType): Tensor {
  if (typeof value === "boolean") {
    if (dtype !== "bool") throw new TypeError(`${op}: cannot combine a boolean with a ${dtype} tensor`);
    return new Tensor(new Uint8Array([value ? 1 : 0]), []);
  }
  if (typeof value !== "number") throw new TypeError(`${op}: expected a Tensor or a number, got ${describe(value)}`);
  if (dtype === "int32") {
    if (!Number.isInteger(value)) {
      throw new TypeError(`${op}: cannot combine an int32 tensor with the non-integer ${value} (convert the tensor with .float() first)`);
    }
    if (value < -(2 ** 31) || value >= 2 ** 31) throw new RangeError(`${op}: ${value} does not fit in int32`);
    return new Tensor(new Int32Array([value]), []);
  }
  if (dtype === "bool") {
    if (value !== 0 && value !== 1) throw new TypeError(`${op}: cannot combine a bool tensor with the number ${value}`);
    return new Tensor(new Uint8Array([value]), []);
  }
  return new Tensor(new Float32Array([value]), []);
}

/** Both operands as tensors of one dtype; throws on a dtype mismatch. */
function operands(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) {
    if (a.dtype !== b.dtype) {
      throw new TypeError(`${op}: dtype mismatch: ${a.dtype} and ${b.dtype} (convert one explicitly with .float() or .int())`);
    }
    return [a, b];
  }
  if (a instanceof Tensor) return [a, scalarTensor(op, b as number, a.dtype)];
  if (b instanceof Tensor) return [scalarTensor(op, a as number, b.dtype), b];
  throw new TypeError(`${op}: expected at least one Tensor, got ${describe(a)} and ${describe(b)}`);
}

function requireFloat(op: string, x: Tensor): void {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${describe(x)}`);
  if (x.dtype !== "float32") {
    throw new TypeError(`${op}: expected a float32 tensor, got ${x.dtype} (convert explicitly with .float())`);
  }
}

/** Runs a broadcasting binary kernel and returns the contiguous result. */
function runBinary(op: BinaryOp, a: Tensor, b: Tensor, outDtype: DType): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = allocateOutput(outDtype, numelOf(shape));
  const backend = a.dtype === "float32" ? getBackend() : jsBackend;
  backend.binary(
    op,
    a.deviceStorage as Float32Array | Int32Array,
    a.offset,
    broadcastStrides(a.shape, a.strides, shape),
    b.deviceStorage as Float32Array | Int32Array,
    b.offset,
    broadcastStrides(b.shape, b.strides, shape),
    out,
    shape,
  );
  return new Tensor(out, shape);
}

function arith(op: ArithOp, aIn: TensorLike, bIn: TensorLike): Tensor {
  const [a, b] = operands(op, aIn, bIn);
  if (a.dtype === "bool") {
    throw new TypeError(`${op}: arithmetic on bool tensors is not supported (use logicalAnd/logicalOr, or convert with .int())`);
  }
  if (a.dtype === "int32") {
    // True division of integers gives float32, like torch.div.
    if (op === "div") return arith("div", castTo(a, "float32"), castTo(b, "float32"));
    if (op === "pow") throw new TypeError("pow: expected float32 tensors, got int32 (convert explicitly with .float())");
    return runBinary(op, a, b, "int32");
  }
  const out = runBinary(op, a, b, "float32");
  return record(out, op, [a, b], (g, needs) => arithBackward(op, a, b, out, g, needs));
}

/** Gradients of a float binary op, summed back to each input's shape (unbroadcast). */
function arithBackward(op: ArithOp, a: Tensor, b: Tensor, out: Tensor, g: Tensor, needs: readonly boolean[]): (Tensor | null)[] {
  let ga: Tensor | null = null;
  let gb: Tensor | null = null;
  switch (op) {
    case "add":
      ga = g;
      gb = g;
      break;
    case "sub":
      ga = g;
      gb = needs[1] ? neg(g) : null;
      break;
    case "mul":
      ga = needs[0] ? mul(g, b) : null;
      gb = needs[1] ? mul(g, a) : null;
      break;
    case "div":
      ga = needs[0] ? div(g, b) : null;
      gb = needs[1] ? neg(div(mul(g, out), b)) : null; // d(a/b)/db = -a/b² = -out/b
      break;
    case "pow":
      // d(a^b)/da = b a^(b-1) (0 where b == 0); d(a^b)/db = a^b log a (0 where a == 0 and b ≥ 0)
      if (needs[0]) ga = where(eq(b, 0), 0, mul(g, mul(b, pow(a, sub(b, 1)))));
      if (needs[1]) gb = where(logicalAnd(eq(a, 0), ge(b, 0)), 0, mul(g, mul(out, log(a))));
      break;
    case "maximum":
    case "minimum": {
      // The larger (smaller) input gets the gradient; ties split it evenly, like torch.
      const aWins = op === "maximum" ? gt(a, b) : lt(a, b);
      const share = add(aWins.float(), mul(eq(a, b).float(), 0.5));
      ga = needs[0] ? mul(g, share) : null;
      gb = needs[1] ? mul(g, sub(1, share)) : null;
      break;
    }
  }
  return [ga && needs[0] ? sumToShape(ga, a.shape) : null, gb && needs[1] ? sumToShape(gb, b.shape) : null];
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  return arith("add", a, b);
}
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return arith("sub", a, b);
}
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return arith("mul", a, b);
}
/** True division (int32 / int32 gives float32). */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return arith("div", a, b);
}
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return arith("pow", a, b);
}
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return arith("maximum", a, b);
}
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return arith("minimum", a, b);
}

// ---------------------------------------------------------------------------------------
// Unary math
// ---------------------------------------------------------------------------------------

function unary(op: UnaryOp, x: Tensor, name: string = op): Tensor {
  requireFloat(name, x);
  const backend = getBackend();
  const xs = x.deviceData() as Float32Array;
  const ys = deviceArray(xs.length);
  backend.unary(op, xs, ys);
  const out = new Tensor(ys, x.shape);
  return record(out, name, [x], (g) => {
    const gx = deviceArray(xs.length);
    getBackend().unaryBackward(op, xs, ys, g.deviceData() as Float32Array, gx);
    return [new Tensor(gx, x.shape)];
  });
}

/** Integer versions of neg / abs (exact, no graph). */
function intUnary(x: Tensor, f: (v: number) => number): Tensor {
  const xs = x.data();
  const out = new Int32Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = f(xs[i]);
  return new Tensor(out, x.shape);
}

export function neg(x: Tensor): Tensor {
  if (x instanceof Tensor && x.dtype === "int32") return intUnary(x, (v) => -v | 0);
  return unary("neg", x);
}
export function abs(x: Tensor): Tensor {
  if (x instanceof Tensor && x.dtype === "int32") return intUnary(x, (v) => Math.abs(v) | 0);
  return unary("abs", x);
}
export function exp(x: Tensor): Tensor {
  return unary("exp", x);
}
export function log(x: Tensor): Tensor {
  return unary("log", x);
}
export function sqrt(x: Tensor): Tensor {
  return unary("sqrt", x);
}
export function rsqrt(x: Tensor): Tensor {
  return unary("rsqrt", x);
}
export function tanh(x: Tensor): Tensor {
  return unary("tanh", x);
}
export function sigmoid(x: Tensor): Tensor {
  return unary("sigmoid", x);
}
export function relu(x: Tensor): Tensor {
  return unary("relu", x);
}
export function silu(x: Tensor): Tensor {
  return unary("silu", x);
}
export function square(x: Tensor): Tensor {
  return unary("square", x);
}
export function sin(x: Tensor): Tensor {
  return unary("sin", x);
}
export function cos(x: Tensor): Tensor {
  return unary("cos", x);
}

/** GELU: exact (erf) by default, or the tanh approximation GPT-2 uses ({ approximate: "tanh" }). */
export function gelu(x: Tensor, opts: { approximate?: "none" | "tanh" } = {}): Tensor {
  const approx = opts.approximate ?? "none";
  if (approx !== "none" && approx !== "tanh") {
    throw new TypeError(`gelu: approximate must be "none" or "tanh", got ${JSON.stringify(approx)}`);
  }
  return approx === "tanh" ? unary("gelu_tanh", x, "gelu") : unary("gelu", x);
}

// ---------------------------------------------------------------------------------------
// Comparisons and logic (results are bool tensors, never differentiable)
// ---------------------------------------------------------------------------------------

function compare(op: CompareOp, aIn: TensorLike, bIn: TensorLike): Tensor {
  let [a, b] = operands(op, aIn, bIn);
  if (a.dtype === "bool") {
    // Kernels compare numbers; bool 0/1 compare exactly as int32.
    a = castTo(a, "int32");
    b = castTo(b, "int32");
  }
  return runBinary(op, a, b, "bool");
}

export function eq(a: TensorLike, b: TensorLike): Tensor {
  return compare("eq", a, b);
}
/** a != b as a bool mask: `ids.ne(padId)` is the attention mask of a padded batch. */
export function ne(a: TensorLike, b: TensorLike): Tensor {
  return compare("ne", a, b);
}
export function lt(a: TensorLike, b: TensorLike): Tensor {
  return compare("lt", a, b);
}
export function le(a: TensorLike, b: TensorLike): Tensor {
  return compare("le", a, b);
}
export function gt(a: TensorLike, b: TensorLike): Tensor {
  return compare("gt", a, b);
}
export function ge(a: TensorLike, b: TensorLike): Tensor {
  return compare("ge", a, b);
}

function requireBool(op: string, x: Tensor): void {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${describe(x)}`);
  if (x.dtype !== "bool") throw new TypeError(`${op}: expected a bool tensor, got ${x.dtype}`);
}

function logical(op: string, a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  requireBool(op, a);
  requireBool(op, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const av = materialize(a, shape);
  const bv = materialize(b, shape);
  const out = new Uint8Array(av.length);
  for (let i = 0; i < out.length; i++) out[i] = f(av[i], bv[i]);
  return new Tensor(out, shape);
}

export function logicalAnd(a: Tensor, b: Tensor): Tensor {
  return logical("logicalAnd", a, b, (x, y) => x & y);
}
export function logicalOr(a: Tensor, b: Tensor): Tensor {
  return logical("logicalOr", a, b, (x, y) => x | y);
}
export function logicalNot(a: Tensor): Tensor {
  requireBool("logicalNot", a);
  const v = a.data();
  const out = new Uint8Array(v.length);
  for (let i = 0; i < out.length; i++) out[i] = v[i] ? 0 : 1;
  return new Tensor(out, a.shape);
}

// ---------------------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------------------

/** Element-wise `cond ? a : b` with broadcasting; cond must be bool. */
export function where(cond: Tensor, aIn: TensorLike, bIn: TensorLike): Tensor {
  requireBool("where", cond);
  let a: Tensor;
  let b: Tensor;
  if (!(aIn instanceof Tensor) && !(bIn instanceof Tensor)) {
    // Two numbers: int32 when both are integers, else float32 (like full()).
    const dtype: DType = Number.isInteger(aIn) && Number.isInteger(bIn) ? "int32" : "float32";
    a = scalarTensor("where", aIn, dtype);
    b = scalarTensor("where", bIn, dtype);
  } else {
    [a, b] = operands("where", aIn, bIn);
  }
  const shape = broadcastShapes("where", broadcastShapes("where", cond.shape, a.shape), b.shape);
  const c = materialize(cond, shape);
  const av = materialize(a, shape);
  const bv = materialize(b, shape);
  const out = allocate(a.dtype, c.length);
  for (let i = 0; i < out.length; i++) out[i] = c[i] ? av[i] : bv[i];
  const result = new Tensor(out, shape);
  return record(result, "where", [a, b], (g, needs) => [
    needs[0] ? sumToShape(where(cond, g, 0), a.shape) : null,
    needs[1] ? sumToShape(where(cond, 0, g), b.shape) : null,
  ]);
}

/** x with `value` where `mask` is true. mask (bool) must broadcast to x's shape. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`maskedFill: expected a Tensor, got ${describe(x)}`);
  requireBool("maskedFill", mask);
  const shape = broadcastShapes("maskedFill", x.shape, mask.shape);
  if (shape.length !== x.ndim || shape.some((s, i) => s !== x.shape[i])) {
    throw new RangeError(`maskedFill: mask of shape ${shapeStr(mask.shape)} does not broadcast to the input shape ${shapeStr(x.shape)}`);
  }
  return where(mask, value, x);
}

/** Limits values to [min, max] (either bound may be omitted). Gradient 1 inside, 0 outside. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`clamp: expected a Tensor, got ${describe(x)}`);
  const lo = min ?? null;
  const hi = max ?? null;
  if (lo === null && hi === null) throw new TypeError("clamp: at least one of min and max must be given");
  let out = x.detach();
  if (lo !== null) out = maximum(out, lo);
  if (hi !== null) out = minimum(out, hi);
  if (x.dtype !== "float32") return out;
  return record(out, "clamp", [x], (g) => {
    let keep = lo === null ? null : ge(x, lo);
    if (hi !== null) keep = keep ? logicalAnd(keep, le(x, hi)) : le(x, hi);
    return [where(keep!, g, 0)];
  });
}

// ---------------------------------------------------------------------------------------
// Dtype conversion
// ---------------------------------------------------------------------------------------

/**
 * Explicit conversion. float32 → int32 truncates toward zero (NaN/inf are errors);
 * anything → bool is `x != 0`; bool → number is 0/1. Same dtype returns x itself.
 */
export function castTo(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const src = x.data();
  const out = allocate(dtype, src.length);
  if (dtype === "bool") {
    for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
  } else if (dtype === "int32" && x.dtype === "float32") {
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (!Number.isFinite(v) || v <= -(2 ** 31) - 1 || v >= 2 ** 31) {
        throw new RangeError(`to(int32): value ${v} at flat index ${i} cannot be converted to int32`);
      }
      out[i] = Math.trunc(v);
    }
  } else {
    out.set(src); // int32 / bool → float32, bool → int32: exact
  }
  return new Tensor(out, x.shape);
}
