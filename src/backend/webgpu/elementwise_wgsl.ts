// Element-wise kernels: unary ops and their gradients (one shader per op, the op spliced in as
// a WGSL expression) and binary float ops and comparisons with broadcasting by strides (up to
// 8 dims), 256 threads per workgroup.
import type { BinaryOp, UnaryOp } from "../backend.js";

export const ELEMENT_THREADS = 256;

export const flatIndex = /* wgsl */ `
fn flatIndex(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * ${ELEMENT_THREADS}u + lid.x; }`;

// WGSL has no erf: Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7, below f32 tolerance).
export const erfWgsl = /* wgsl */ `
fn erf(x: f32) -> f32 {
  let s = sign(x);
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}
// tanh of a large |x| overflows exp on some drivers: clamp where tanh is ±1 in f32 anyway.
fn tanhSafe(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }`;

const UNARY: Record<UnaryOp, string> = {
  neg: "-x",
  exp: "exp(x)",
  log: "log(x)",
  sqrt: "sqrt(x)",
  rsqrt: "inverseSqrt(x)",
  abs: "abs(x)",
  tanh: "tanhSafe(x)",
  sigmoid: "1.0 / (1.0 + exp(-x))",
  relu: "max(x, 0.0)",
  gelu: "0.5 * x * (1.0 + erf(x * 0.70710678118654752))",
  gelu_tanh: "0.5 * x * (1.0 + tanhSafe(0.79788456080286536 * (x + 0.044715 * x * x * x)))",
  silu: "x / (1.0 + exp(-x))",
  square: "x * x",
  sin: "sin(x)",
  cos: "cos(x)",
};

export function isGpuUnary(op: string): op is UnaryOp {
  return Object.hasOwn(UNARY, op);
}

export const unaryWgsl = (op: UnaryOp) => (): string =>
  /* wgsl */ `
struct P { n: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${flatIndex}
${erfWgsl}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.n) { return; }
  let x = X[i];
  Y[i] = ${UNARY[op]};
}`;

/** d op(x) / dx as WGSL, given x and y = op(x) (the same formulas as the js backend). */
const UNARY_DERIVATIVE: Record<UnaryOp, string> = {
  neg: "-1.0",
  exp: "y",
  log: "1.0 / x",
  sqrt: "0.5 / y",
  rsqrt: "-0.5 * y / x",
  abs: "sign(x)",
  tanh: "1.0 - y * y",
  sigmoid: "y * (1.0 - y)",
  relu: "select(0.0, 1.0, x > 0.0)",
  gelu: "0.5 * (1.0 + erf(x * 0.70710678118654752)) + x * exp(-0.5 * x * x) * 0.39894228040143268",
  gelu_tanh: "dGeluTanh(x)",
  silu: "dSilu(x)",
  square: "2.0 * x",
  sin: "cos(x)",
  cos: "-sin(x)",
};

const derivativeHelpers = /* wgsl */ `
fn dGeluTanh(x: f32) -> f32 {
  let t = tanhSafe(0.79788456080286536 * (x + 0.044715 * x * x * x));
  let dInner = 0.79788456080286536 * (1.0 + 3.0 * 0.044715 * x * x);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dInner;
}
fn dSilu(x: f32) -> f32 {
  let s = 1.0 / (1.0 + exp(-x));
  return s * (1.0 + x * (1.0 - s));
}`;

/** gx = gy · op'(x), one thread per element. */
export const unaryBackwardWgsl = (op: UnaryOp) => (): string =>
  /* wgsl */ `
struct P { n: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Yf: array<f32>;
@group(0) @binding(2) var<storage, read> GY: array<f32>;
@group(0) @binding(3) var<storage, read_write> GX: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${flatIndex}
${erfWgsl}
${derivativeHelpers}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.n) { return; }
  let x = X[i];
  let y = Yf[i];
  GX[i] = GY[i] * (${UNARY_DERIVATIVE[op]});
}`;

/**
 * The binary ops the GPU runs on float32 inputs. Comparisons write 1.0 or 0.0 here; the
 * backend narrows them to the Uint8Array the interface asks for. Int32 inputs stay on the js
 * backend (the tensor layer sends them there anyway).
 */
const BINARY: Record<BinaryOp, string> = {
  add: "a + b",
  sub: "a - b",
  mul: "a * b",
  div: "a / b",
  pow: "powJs(a, b)",
  maximum: "maxNaN(a, b)",
  minimum: "minNaN(a, b)",
  eq: "select(0.0, 1.0, a == b)",
  ne: "select(0.0, 1.0, a != b)",
  lt: "select(0.0, 1.0, a < b)",
  le: "select(0.0, 1.0, a <= b)",
  gt: "select(0.0, 1.0, a > b)",
  ge: "select(0.0, 1.0, a >= b)",
};

export const COMPARISONS: readonly BinaryOp[] = ["eq", "ne", "lt", "le", "gt", "ge"];

export function isGpuBinary(op: string): boolean {
  return Object.hasOwn(BINARY, op);
}

export const MAX_BINARY_RANK = 8;

export const binaryWgsl = (op: BinaryOp) => (): string =>
  /* wgsl */ `
struct P { n: u32, aOff: u32, bOff: u32, rank: u32, shape: array<vec4u, 2>, aS: array<vec4u, 2>, bS: array<vec4u, 2> };
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${flatIndex}
// NaN propagates, like torch.maximum / torch.minimum (WGSL's max/min leave it unspecified).
fn maxNaN(a: f32, b: f32) -> f32 { if (a != a || b != b) { return a + b; } return max(a, b); }
fn minNaN(a: f32, b: f32) -> f32 { if (a != a || b != b) { return a + b; } return min(a, b); }
// Math.pow's rules where WGSL's pow (exp2(b·log2 a)) differs: x^0 = 1, negative bases with
// integer exponents.
fn powJs(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0) { return pow(a, b); }
  if (fract(b) != 0.0) { let nanBits = 0x7fc00000u; return bitcast<f32>(nanBits); } // a let: NaN is no constant
  let r = pow(-a, b);
  if (fract(b * 0.5) != 0.0) { return -r; }
  return r;
}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.n) { return; }
  var rest = i;
  var ia = p.aOff;
  var ib = p.bOff;
  for (var d = i32(p.rank) - 1; d >= 0; d--) { // innermost dim first
    let q = u32(d) / 4u;
    let w = u32(d) % 4u;
    let c = rest % p.shape[q][w];
    rest /= p.shape[q][w];
    ia += c * p.aS[q][w];
    ib += c * p.bS[q][w];
  }
  let a = A[ia];
  let b = B[ib];
  Y[i] = ${BINARY[op]};
}`;
