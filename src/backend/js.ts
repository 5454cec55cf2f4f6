// The `js` backend: every kernel of the Backend interface as a plain TypeScript loop.
//
// This is the readable reference: tests use it as the oracle for the native backend, and
// tsgpt falls back to it when the addon is not built. Loops favour clarity over speed, but
// stay numerically careful: reductions accumulate in float64, softmax and logsumexp subtract
// the row maximum first, and matmul walks memory in an order that keeps rows in cache.
import type { Backend, BinaryOp, DataArray, MatmulArgs, QuantDType, QuantLayout, ReduceOp, UnaryOp } from "./backend.js";
import { attentionJs } from "./js_attention.js";
import { causalAttentionBackwardJs, causalAttentionJs } from "./js_causal_attention.js";
import { linearHalfJs } from "./js_half.js";
import { checkQuantMatmulArgs, quantMatmulRowsJs } from "./js_quant.js";
import { type GroupedDType, groupedLayoutOf, matmulGroupedJs } from "./quant_row_groups.js";

// ---------------------------------------------------------------------------------------
// Scalar math helpers
// ---------------------------------------------------------------------------------------

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = 1 / Math.SQRT2;
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/**
 * The error function in float64, accurate to ~1e-15.
 * |x| < 2: its Taylor series (terms stay small enough that little precision is lost);
 * |x| ≥ 2: 1 - erfc(x) with erfc's continued fraction, which converges fast there.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x); // erfc(6) ≈ 2e-17: below float64 resolution of 1
  if (ax < 2) {
    // erf(x) = 2/sqrt(pi) * Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x; // x^(2n+1) (-1)^n / n!
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 2 * INV_SQRT_PI * sum;
  }
  // erfc(x) = exp(-x²)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated backwards.
  let frac = ax;
  for (let n = 60; n >= 1; n--) frac = ax + n / 2 / frac;
  const erfc = (Math.exp(-ax * ax) * INV_SQRT_PI) / frac;
  return Math.sign(x) * (1 - erfc);
}

function sigmoid(x: number): number {
  // Two branches so exp never overflows.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The forward function of each unary op (float64 in, rounded to float32 on store). */
const UNARY_FORWARD: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => (x > 0 ? x : 0),
  gelu: (x) => 0.5 * x * (1 + erf(x * INV_SQRT_2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
  silu: (x) => x * sigmoid(x),
  square: (x) => x * x,
  sin: Math.sin,
  cos: Math.cos,
};

/** d op(x) / dx, given x and the forward output y = op(x). */
const UNARY_DERIVATIVE: Record<UnaryOp, (x: number, y: number) => number> = {
  neg: () => -1,
  exp: (_x, y) => y,
  log: (x) => 1 / x,
  sqrt: (_x, y) => 0.5 / y,
  rsqrt: (x, y) => (-0.5 * y) / x,
  abs: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  tanh: (_x, y) => 1 - y * y,
  sigmoid: (_x, y) => y * (1 - y),
  relu: (x) => (x > 0 ? 1 : 0),
  gelu: (x) => {
    const cdf = 0.5 * (1 + erf(x * INV_SQRT_2));
    const pdf = Math.exp(-0.5 * x * x) * INV_SQRT_2 * INV_SQRT_PI;
    return cdf + x * pdf;
  },
  gelu_tanh: (x) => {
    const inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    const t = Math.tanh(inner);
    const dInner = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dInner;
  },
  silu: (x) => {
    const s = sigmoid(x);
    return s * (1 + x * (1 - s));
  },
  square: (x) => 2 * x,
  sin: Math.cos,
  cos: (x) => -Math.sin(x),
};

/** Arithmetic binary ops. Comparisons are separate because they write 0/1. */
const ARITH: Record<"add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum", (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  // NaN propagates like torch.maximum / torch.minimum.
  maximum: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
  minimum: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
};

/** Integer versions: results wrap to 32 bits like int32 arithmetic in C. */
const INT_ARITH: Partial<Record<BinaryOp, (a: number, b: number) => number>> = {
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  mul: (a, b) => Math.imul(a, b),
  maximum: (a, b) => (a > b ? a : b),
  minimum: (a, b) => (a < b ? a : b),
  // Integer division truncates toward zero (C semantics); the tensor layer never asks for it
  // (true division returns float32), but the interface allows it.
  div: (a, b) => {
    if (b === 0) throw new RangeError("integer division by zero");
    return (a / b) | 0;
  },
};

const COMPARE: Record<"eq" | "ne" | "lt" | "le" | "gt" | "ge", (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
};

// ---------------------------------------------------------------------------------------
// Strided iteration
// ---------------------------------------------------------------------------------------

/**
 * Calls `body(outIndex, aIndex, bIndex)` for every element of `shape` in row-major order.
 * The innermost axis is a tight loop; the outer axes advance like an odometer.
 */
function forEachBroadcast(
  shape: readonly number[],
  aOffset: number,
  aStrides: readonly number[],
  bOffset: number,
  bStrides: readonly number[],
  body: (o: number, ai: number, bi: number) => void,
): void {
  const nd = shape.length;
  let total = 1;
  for (const s of shape) total *= s;
  if (total === 0) return;
  if (nd === 0) {
    body(0, aOffset, bOffset);
    return;
  }
  const last = nd - 1;
  const inner = shape[last];
  const sa = aStrides[last];
  const sb = bStrides[last];
  const idx = new Array<number>(nd).fill(0);
  let ai = aOffset;
  let bi = bOffset;
  let o = 0;
  for (;;) {
    for (let j = 0, a = ai, b = bi; j < inner; j++, a += sa, b += sb) body(o++, a, b);
    // Advance the outer axes.
    let d = last - 1;
    for (; d >= 0; d--) {
      idx[d]++;
      ai += aStrides[d];
      bi += bStrides[d];
      if (idx[d] < shape[d]) break;
      ai -= aStrides[d] * shape[d];
      bi -= bStrides[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

/** True when strides walk `shape` row-major without gaps (the common, fast case). */
function isDense(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

function checkLength(what: string, arr: { length: number }, need: number): void {
  if (arr.length < need) throw new RangeError(`${what}: buffer has ${arr.length} elements, needs ${need}`);
}

// ---------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------

function matmul(x: MatmulArgs): void {
  const { batch, m, n, k, a, b, c, transA, transB, accumulate } = x;
  checkLength("matmul: c", c, batch * m * n);
  const rowAcc = new Float64Array(n);
  for (let bt = 0; bt < batch; bt++) {
    const aBase = x.aOffset + bt * x.aBatchStride;
    const bBase = x.bOffset + bt * x.bBatchStride;
    const cBase = bt * m * n;
    // A(i, p) and its strides in memory, for either layout.
    const aRow = transA ? 1 : k; // step between rows i
    const aCol = transA ? m : 1; // step between columns p
    for (let i = 0; i < m; i++) {
      const ai = aBase + i * aRow;
      if (transB) {
        // B is stored n × k: B(p, j) = b[j*k + p]. Each C(i, j) is a dot product of two rows.
        for (let j = 0; j < n; j++) {
          const bj = bBase + j * k;
          let s = 0;
          for (let p = 0; p < k; p++) s += a[ai + p * aCol] * b[bj + p];
          rowAcc[j] = s;
        }
      } else {
        // i-k-j order: stream through row p of B and accumulate into row i of C.
        rowAcc.fill(0);
        for (let p = 0; p < k; p++) {
          const av = a[ai + p * aCol];
          if (av === 0) continue;
          const bp = bBase + p * n;
          for (let j = 0; j < n; j++) rowAcc[j] += av * b[bp + j];
        }
      }
      const ci = cBase + i * n;
      if (accumulate) for (let j = 0; j < n; j++) c[ci + j] += rowAcc[j];
      else for (let j = 0; j < n; j++) c[ci + j] = rowAcc[j];
    }
  }
}

function unary(op: UnaryOp, x: Float32Array, out: Float32Array): void {
  const f = UNARY_FORWARD[op];
  if (!f) throw new TypeError(`unary: unknown op "${op}"`);
  checkLength(`unary ${op}: out`, out, x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
}

function unaryBackward(op: UnaryOp, x: Float32Array, y: Float32Array, gy: Float32Array, gx: Float32Array): void {
  const df = UNARY_DERIVATIVE[op];
  if (!df) throw new TypeError(`unaryBackward: unknown op "${op}"`);
  checkLength(`unaryBackward ${op}: gx`, gx, x.length);
  for (let i = 0; i < x.length; i++) gx[i] = gy[i] * df(x[i], y[i]);
}

function binary(
  op: BinaryOp,
  a: Float32Array | Int32Array,
  aOffset: number,
  aStrides: readonly number[],
  b: Float32Array | Int32Array,
  bOffset: number,
  bStrides: readonly number[],
  out: DataArray,
  shape: readonly number[],
): void {
  if (op in COMPARE) {
    const f = COMPARE[op as keyof typeof COMPARE];
    forEachBroadcast(shape, aOffset, aStrides, bOffset, bStrides, (o, ai, bi) => {
      out[o] = f(a[ai], b[bi]) ? 1 : 0;
    });
    return;
  }
  const isInt = a instanceof Int32Array;
  const f = isInt ? INT_ARITH[op] : ARITH[op as keyof typeof ARITH];
  if (!f) throw new TypeError(`binary: op "${op}" is not supported on ${isInt ? "int32" : "float32"}`);
  if (isDense(shape, aStrides) && isDense(shape, bStrides)) {
    // Fast path: both operands are plain contiguous arrays.
    let n = 1;
    for (const s of shape) n *= s;
    for (let i = 0; i < n; i++) out[i] = f(a[aOffset + i], b[bOffset + i]);
    return;
  }
  forEachBroadcast(shape, aOffset, aStrides, bOffset, bStrides, (o, ai, bi) => {
    out[o] = f(a[ai], b[bi]);
  });
}

function reduce(op: ReduceOp, x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): void {
  checkLength(`reduce ${op}: out`, out, outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * size * inner + j;
      let acc: number;
      if (op === "sum") {
        acc = 0;
        for (let s = 0; s < size; s++) acc += x[base + s * inner];
      } else if (op === "max") {
        acc = -Infinity;
        for (let s = 0; s < size; s++) {
          const v = x[base + s * inner];
          if (v > acc || v !== v) acc = v;
          if (acc !== acc) break; // NaN wins, like torch.max
        }
      } else {
        acc = Infinity;
        for (let s = 0; s < size; s++) {
          const v = x[base + s * inner];
          if (v < acc || v !== v) acc = v;
          if (acc !== acc) break;
        }
      }
      out[o * inner + j] = acc;
    }
  }
}

function argReduce(op: "argmax" | "argmin", x: Float32Array, outer: number, size: number, inner: number, out: Int32Array): void {
  checkLength(`${op}: out`, out, outer * inner);
  const better = op === "argmax" ? (v: number, best: number) => v > best : (v: number, best: number) => v < best;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * size * inner + j;
      let bestIndex = 0;
      let best = x[base];
      for (let s = 1; s < size && best === best; s++) {
        const v = x[base + s * inner];
        // A NaN counts as the extreme value (torch.argmax returns the first NaN).
        if (v !== v || better(v, best)) {
          best = v;
          bestIndex = s;
        }
      }
      out[o * inner + j] = bestIndex;
    }
  }
}

function softmax(x: Float32Array, rows: number, cols: number, out: Float32Array, log: boolean): void {
  checkLength("softmax: out", out, rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) if (x[base + c] > max) max = x[base + c];
    // A row of all -inf (fully masked) gives NaN, as in PyTorch: exp(-inf - -inf) is NaN.
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(x[base + c] - max);
    if (log) {
      const logSum = Math.log(sum) + max;
      for (let c = 0; c < cols; c++) out[base + c] = x[base + c] - logSum;
    } else {
      for (let c = 0; c < cols; c++) out[base + c] = Math.exp(x[base + c] - max) / sum;
    }
  }
}

function softmaxBackward(y: Float32Array, gy: Float32Array, rows: number, cols: number, gx: Float32Array, log: boolean): void {
  checkLength("softmaxBackward: gx", gx, rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    if (log) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += gy[base + c];
      for (let c = 0; c < cols; c++) gx[base + c] = gy[base + c] - Math.exp(y[base + c]) * sum;
    } else {
      let dot = 0;
      for (let c = 0; c < cols; c++) dot += gy[base + c] * y[base + c];
      for (let c = 0; c < cols; c++) gx[base + c] = y[base + c] * (gy[base + c] - dot);
    }
  }
}

function layerNorm(
  x: Float32Array,
  w: Float32Array | null,
  b: Float32Array | null,
  rows: number,
  cols: number,
  eps: number,
  out: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
): void {
  checkLength("layerNorm: out", out, rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += x[base + c];
    const mu = sum / cols;
    let sq = 0;
    for (let c = 0; c < cols; c++) {
      const d = x[base + c] - mu;
      sq += d * d;
    }
    const rs = 1 / Math.sqrt(sq / cols + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let c = 0; c < cols; c++) {
      let v = (x[base + c] - mu) * rs;
      if (w) v *= w[c];
      if (b) v += b[c];
      out[base + c] = v;
    }
  }
}

function layerNormBackward(
  x: Float32Array,
  w: Float32Array | null,
  mean: Float32Array,
  rstd: Float32Array,
  gy: Float32Array,
  rows: number,
  cols: number,
  gx: Float32Array,
  gw: Float32Array | null,
  gb: Float32Array | null,
): void {
  // With xhat = (x - mean) * rstd and g = gy * w:
  // gx = rstd * (g - mean(g) - xhat * mean(g * xhat))
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const mu = mean[r];
    const rs = rstd[r];
    let sumG = 0;
    let sumGX = 0;
    for (let c = 0; c < cols; c++) {
      const xhat = (x[base + c] - mu) * rs;
      const g = gy[base + c] * (w ? w[c] : 1);
      sumG += g;
      sumGX += g * xhat;
      if (gw) gw[c] += gy[base + c] * xhat;
      if (gb) gb[c] += gy[base + c];
    }
    const meanG = sumG / cols;
    const meanGX = sumGX / cols;
    for (let c = 0; c < cols; c++) {
      const xhat = (x[base + c] - mu) * rs;
      const g = gy[base + c] * (w ? w[c] : 1);
      gx[base + c] = rs * (g - meanG - xhat * meanGX);
    }
  }
}

function rmsNorm(
  x: Float32Array,
  w: Float32Array | null,
  rows: number,
  cols: number,
  eps: number,
  out: Float32Array,
  rstd: Float32Array,
): void {
  checkLength("rmsNorm: out", out, rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sq = 0;
    for (let c = 0; c < cols; c++) sq += x[base + c] * x[base + c];
    const rs = 1 / Math.sqrt(sq / cols + eps);
    rstd[r] = rs;
    for (let c = 0; c < cols; c++) out[base + c] = x[base + c] * rs * (w ? w[c] : 1);
  }
}

function rmsNormBackward(
  x: Float32Array,
  w: Float32Array | null,
  rstd: Float32Array,
  gy: Float32Array,
  rows: number,
  cols: number,
  gx: Float32Array,
  gw: Float32Array | null,
): void {
  // y = x * rstd * w; with g = gy * w: gx = rstd * (g - x * rstd² * mean(g * x))
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const rs = rstd[r];
    let dot = 0;
    for (let c = 0; c < cols; c++) {
      const g = gy[base + c] * (w ? w[c] : 1);
      dot += g * x[base + c];
      if (gw) gw[c] += gy[base + c] * x[base + c] * rs;
    }
    const k = (rs * rs * dot) / cols;
    for (let c = 0; c < cols; c++) {
      const g = gy[base + c] * (w ? w[c] : 1);
      gx[base + c] = rs * (g - x[base + c] * k);
    }
  }
}

function embedding(weight: Float32Array, vocab: number, dim: number, ids: Int32Array, out: Float32Array): void {
  checkLength("embedding: out", out, ids.length * dim);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= vocab) {
      throw new RangeError(`embedding: index ${id} at position ${i} is out of range for a vocabulary of ${vocab}`);
    }
    out.set(weight.subarray(id * dim, id * dim + dim), i * dim);
  }
}

function embeddingBackward(gy: Float32Array, ids: Int32Array, dim: number, gw: Float32Array): void {
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i] * dim;
    for (let d = 0; d < dim; d++) gw[row + d] += gy[i * dim + d];
  }
}

/** logsumexp of one row, stable; -inf for an all -inf row. */
function rowLogSumExp(x: Float32Array, base: number, cols: number): number {
  let max = -Infinity;
  for (let c = 0; c < cols; c++) if (x[base + c] > max) max = x[base + c];
  if (max === -Infinity || max === Infinity) return max;
  let sum = 0;
  for (let c = 0; c < cols; c++) sum += Math.exp(x[base + c] - max);
  return max + Math.log(sum);
}

function crossEntropy(
  logits: Float32Array,
  targets: Int32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
  losses: Float32Array,
  lse: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    const base = r * cols;
    const l = rowLogSumExp(logits, base, cols);
    lse[r] = l;
    if (t === ignoreIndex) {
      losses[r] = 0;
      continue;
    }
    if (t < 0 || t >= cols) {
      throw new RangeError(`crossEntropy: target ${t} at row ${r} is out of range for ${cols} classes`);
    }
    losses[r] = l - logits[base + t];
  }
}

function crossEntropyBackward(
  logits: Float32Array,
  targets: Int32Array,
  lse: Float32Array,
  gLoss: Float32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
  glogits: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    const base = r * cols;
    if (t === ignoreIndex) {
      glogits.fill(0, base, base + cols);
      continue;
    }
    const g = gLoss[r];
    const l = lse[r];
    for (let c = 0; c < cols; c++) glogits[base + c] = g * Math.exp(logits[base + c] - l);
    glogits[base + t] -= g;
  }
}

function copyStrided(src: DataArray, offset: number, shape: readonly number[], strides: readonly number[], out: DataArray): void {
  const zeros = new Array<number>(shape.length).fill(0);
  forEachBroadcast(shape, offset, strides, 0, zeros, (o, si) => {
    out[o] = src[si];
  });
}

function adamw(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): void {
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  for (let i = 0; i < p.length; i++) {
    let pi = p[i] - lr * weightDecay * p[i];
    const mi = beta1 * m[i] + (1 - beta1) * g[i];
    const vi = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    pi -= (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    p[i] = pi;
  }
}

/** quantMatmul: the plain js reference, or (grouped16) the same on 16 rows unpacked at a time. */
function quantMatmul(
  dtype: QuantDType,
  layout: QuantLayout,
  x: Float32Array,
  m: number,
  k: number,
  w: Uint8Array,
  n: number,
  out: Float32Array,
): void {
  if (layout === "rows") return quantMatmulRowsJs(dtype, x, m, k, w, n, out);
  if (layout !== "grouped16") throw new TypeError(`quantMatmul: layout must be "rows" or "grouped16", got "${String(layout)}"`);
  checkQuantMatmulArgs(dtype, layout, x, m, k, w, n, out);
  if (groupedLayoutOf(dtype) === null) throw new RangeError(`quantMatmul: ${dtype} has no grouped16 layout`);
  matmulGroupedJs(dtype as GroupedDType, x, m, k, w, n, out);
}

/** The js backend. Always available. */
export const jsBackend: Backend = {
  name: "js",
  matmul,
  unary,
  unaryBackward,
  binary,
  reduce,
  argReduce,
  softmax,
  softmaxBackward,
  layerNorm,
  layerNormBackward,
  rmsNorm,
  rmsNormBackward,
  embedding,
  embeddingBackward,
  crossEntropy,
  crossEntropyBackward,
  copyStrided,
  adamw,
  quantMatmul,
  preferredQuantLayout: () => "rows", // unpacking groups of rows only costs time here
  quantKernelName: () => "js",
  linearHalf: (dtype, x, m, k, bits, n, out) => linearHalfJs(matmul, dtype, x, m, k, bits, n, out),
  attention: attentionJs,
  causalAttention: causalAttentionJs,
  causalAttentionBackward: causalAttentionBackwardJs,
};
