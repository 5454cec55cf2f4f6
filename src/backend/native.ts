// The native backend: C++ kernels (native/*.cc) loaded as a Node-API addon.
//
// The addon is built by `npm install` (scripts/build-native.mjs → node-gyp) into
// build/Release/tsgpt_native.node. When it is missing or fails to load, loadNativeBackend()
// returns null and nativeUnavailableReason() says why; the caller then falls back to `js`.
//
// Each kernel is one addon function with positional arguments (cheap to call for small
// tensors). The addon validates every length against the sizes it is given and throws a
// RangeError / TypeError instead of touching memory outside a buffer.
import { packageRoot } from "../util/package_root.js";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { attentionJs } from "./js_attention.js";
import type { Backend, BinaryOp, CausalAttentionArgs, DataArray, MatmulArgs, QuantDType, ReduceOp, UnaryOp } from "./backend.js";

/** The functions exported by the addon (see native/addon.cc). */
interface NativeAddon {
  matmul(
    batch: number,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    aOffset: number,
    aBatchStride: number,
    transA: boolean,
    b: Float32Array,
    bOffset: number,
    bBatchStride: number,
    transB: boolean,
    c: Float32Array,
    accumulate: boolean,
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  unaryBackward(op: number, x: Float32Array, y: Float32Array, gy: Float32Array, gx: Float32Array): void;
  binary(
    op: number,
    a: Float32Array | Int32Array,
    aOffset: number,
    b: Float32Array | Int32Array,
    bOffset: number,
    out: DataArray,
    dims: Float64Array,
  ): void;
  reduce(op: number, x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): void;
  argReduce(op: number, x: Float32Array, outer: number, size: number, inner: number, out: Int32Array): void;
  softmax(x: Float32Array, rows: number, cols: number, out: Float32Array, log: boolean): void;
  softmaxBackward(y: Float32Array, gy: Float32Array, rows: number, cols: number, gx: Float32Array, log: boolean): void;
  layerNorm(
    x: Float32Array,
    w: Float32Array | null,
    b: Float32Array | null,
    rows: number,
    cols: number,
    eps: number,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
  ): void;
  layerNormBackward(
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
  ): void;
  rmsNorm(x: Float32Array, w: Float32Array | null, rows: number, cols: number, eps: number, out: Float32Array, rstd: Float32Array): void;
  rmsNormBackward(
    x: Float32Array,
    w: Float32Array | null,
    rstd: Float32Array,
    gy: Float32Array,
    rows: number,
    cols: number,
    gx: Float32Array,
    gw: Float32Array | null,
  ): void;
  embedding(weight: Float32Array, vocab: number, dim: number, ids: Int32Array, out: Float32Array): void;
  embeddingBackward(gy: Float32Array, ids: Int32Array, dim: number, gw: Float32Array): void;
  crossEntropy(
    logits: Float32Array,
    targets: Int32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
    losses: Float32Array,
    lse: Float32Array,
  ): void;
  crossEntropyBackward(
    logits: Float32Array,
    targets: Int32Array,
    lse: Float32Array,
    gLoss: Float32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
    glogits: Float32Array,
  ): void;
  copyStrided(src: DataArray, offset: number, out: DataArray, dims: Float64Array): void;
  adamw(
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
  ): void;
  /** out (m × n) = x (m × k) · Wᵀ, W (n × k) as f16 or bf16 bits (native/half.cc). */
  linearHalf(dtype: string, x: Float32Array, m: number, k: number, bits: Uint16Array, n: number, out: Float32Array): void;
  /** out (m × n) = x (m × k) · Wᵀ, W (n × k) quantized, plain or 16-row grouped (native/quant.cc). */
  quantMatmul(dtype: string, grouped: boolean, x: Float32Array, m: number, k: number, w: Uint8Array, n: number, out: Float32Array): void;
  /** The quantized kernels' SIMD level at the current level of the common dispatch. */
  quantKernelLevel(): string;
  /** Attention over a KV cache (native/attention.cc); the arguments of AttentionArgs in this order. */
  attention(
    batch: number,
    steps: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    q: Float32Array,
    keys: Float32Array,
    values: Float32Array,
    capacity: number,
    valid: Uint8Array,
    start: number,
    scale: number,
    out: Float32Array,
  ): void;
  /** Training attention (native/causal_attention.cc); dims from causalAttentionDims. */
  causalAttention(
    dims: Float64Array,
    scale: number,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyValid: Uint8Array | null,
    out: Float32Array,
    probs: Float32Array,
  ): void;
  causalAttentionBackward(
    dims: Float64Array,
    scale: number,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    probs: Float32Array,
    gOut: Float32Array,
    gq: Float32Array,
    gk: Float32Array,
    gv: Float32Array,
  ): void;
  /** Whether native/malloc_tuning.cc's settings are in effect (glibc, TSGPT_MALLOC_TUNING ≠ 0). */
  mallocTuned(): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cpuFeatures(): string;
  setSimdLevel(level: string): void;
  availableSimdLevels(): string[];
}

// Op names → the codes the addon switches on. Order matters: it mirrors native/kernels.h.
const UNARY_CODES: Record<UnaryOp, number> = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  rsqrt: 4,
  abs: 5,
  tanh: 6,
  sigmoid: 7,
  relu: 8,
  gelu: 9,
  gelu_tanh: 10,
  silu: 11,
  square: 12,
  sin: 13,
  cos: 14,
};
const BINARY_CODES: Record<BinaryOp, number> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  eq: 7,
  ne: 8,
  lt: 9,
  le: 10,
  gt: 11,
  ge: 12,
};
const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };
const ARG_REDUCE_CODES = { argmax: 0, argmin: 1 } as const;

const ADDON_RELATIVE_PATH = join("build", "Release", "tsgpt_native.node");

let addon: NativeAddon | null = null;
let unavailableReason: string | null = null;
let attempted = false;

function loadAddon(): NativeAddon | null {
  if (attempted) return addon;
  attempted = true;
  const file = join(packageRoot(), ADDON_RELATIVE_PATH);
  if (!existsSync(file)) {
    unavailableReason = `${ADDON_RELATIVE_PATH} not found (the native build did not run or failed)`;
    return null;
  }
  try {
    const require = createRequire(import.meta.url);
    addon = require(file) as NativeAddon;
    // An addon built from older sources lacks the newer kernels: use js rather than fail mid-run.
    const missing = (["quantMatmul", "linearHalf", "attention", "causalAttention", "causalAttentionBackward"] as const).filter(
      (f) => typeof addon![f] !== "function",
    );
    if (missing.length > 0) {
      unavailableReason = `${ADDON_RELATIVE_PATH} is out of date (no ${missing.join(", ")}; run npm run build:native)`;
      addon = null;
    }
  } catch (err) {
    unavailableReason = `${ADDON_RELATIVE_PATH} failed to load: ${(err as Error).message}`;
    addon = null;
  }
  return addon;
}

/**
 * Whether the addon tuned malloc when it loaded (large freed buffers stay in the heap for the
 * next training step; see native/malloc_tuning.cc). False without the addon, off glibc, or with
 * TSGPT_MALLOC_TUNING=0.
 */
export function mallocTuned(): boolean {
  const a = loadAddon();
  return a !== null && typeof a.mallocTuned === "function" && a.mallocTuned();
}

/** Why the native backend is unavailable, or null when it loaded (or was not tried yet). */
export function nativeUnavailableReason(): string | null {
  loadAddon();
  return unavailableReason;
}

function requireAddon(): NativeAddon {
  const a = loadAddon();
  if (!a) throw new Error(`tsgpt: the native backend is unavailable: ${unavailableReason}`);
  return a;
}

/** Number of threads the native kernels use (default: hardware cores, or TSGPT_NUM_THREADS). */
export function getNumThreads(): number {
  return requireAddon().getNumThreads();
}

/** Set the number of threads the native kernels use (≥ 1). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected an integer ≥ 1, got ${n}`);
  requireAddon().setNumThreads(n);
}

/** The SIMD path in use: "avx512", "avx2" or "generic". */
export function cpuFeatures(): string {
  return requireAddon().cpuFeatures();
}

/** SIMD paths this CPU supports, best first (for tests that compare them). */
export function availableSimdLevels(): string[] {
  return requireAddon().availableSimdLevels();
}

/** Force a SIMD path (one of availableSimdLevels()); for tests and benchmarks. */
export function setSimdLevel(level: string): void {
  requireAddon().setSimdLevel(level);
}

// Shapes and strides travel to the addon packed in one Float64Array:
// [ndim, shape..., stridesA..., stridesB...]. A Float64Array holds any safe integer.
function packDims(shape: readonly number[], ...strides: (readonly number[])[]): Float64Array {
  const nd = shape.length;
  const dims = new Float64Array(1 + nd * (1 + strides.length));
  dims[0] = nd;
  for (let d = 0; d < nd; d++) dims[1 + d] = shape[d];
  strides.forEach((s, j) => {
    if (s.length !== nd) throw new RangeError(`strides have ${s.length} entries, shape has ${nd}`);
    for (let d = 0; d < nd; d++) dims[1 + nd * (1 + j) + d] = s[d];
  });
  return dims;
}

function code<T extends string>(table: Record<T, number>, op: T, kind: string): number {
  const c = table[op];
  if (c === undefined) throw new TypeError(`unknown ${kind} op "${op}"`);
  return c;
}

/** @deprecated The native backend is a plain Backend now (linearHalf is part of it); kept for one release. */
export type NativeBackend = Backend;

function makeBackend(n: NativeAddon): Backend {
  return {
    name: "native",
    matmul(x: MatmulArgs): void {
      n.matmul(
        x.batch,
        x.m,
        x.n,
        x.k,
        x.a,
        x.aOffset,
        x.aBatchStride,
        x.transA,
        x.b,
        x.bOffset,
        x.bBatchStride,
        x.transB,
        x.c,
        x.accumulate,
      );
    },
    unary: (op, x, out) => n.unary(code(UNARY_CODES, op, "unary"), x, out),
    unaryBackward: (op, x, y, gy, gx) => n.unaryBackward(code(UNARY_CODES, op, "unary"), x, y, gy, gx),
    binary(op, a, aOffset, aStrides, b, bOffset, bStrides, out, shape) {
      n.binary(code(BINARY_CODES, op, "binary"), a, aOffset, b, bOffset, out, packDims(shape, aStrides, bStrides));
    },
    reduce: (op, x, outer, size, inner, out) => n.reduce(code(REDUCE_CODES, op, "reduce"), x, outer, size, inner, out),
    argReduce: (op, x, outer, size, inner, out) => n.argReduce(code(ARG_REDUCE_CODES, op, "argReduce"), x, outer, size, inner, out),
    softmax: (x, rows, cols, out, log) => n.softmax(x, rows, cols, out, log),
    softmaxBackward: (y, gy, rows, cols, gx, log) => n.softmaxBackward(y, gy, rows, cols, gx, log),
    layerNorm: (x, w, b, rows, cols, eps, out, mean, rstd) => n.layerNorm(x, w, b, rows, cols, eps, out, mean, rstd),
    layerNormBackward: (x, w, mean, rstd, gy, rows, cols, gx, gw, gb) => n.layerNormBackward(x, w, mean, rstd, gy, rows, cols, gx, gw, gb),
    rmsNorm: (x, w, rows, cols, eps, out, rstd) => n.rmsNorm(x, w, rows, cols, eps, out, rstd),
    rmsNormBackward: (x, w, rstd, gy, rows, cols, gx, gw) => n.rmsNormBackward(x, w, rstd, gy, rows, cols, gx, gw),
    embedding: (weight, vocab, dim, ids, out) => n.embedding(weight, vocab, dim, ids, out),
    embeddingBackward: (gy, ids, dim, gw) => n.embeddingBackward(gy, ids, dim, gw),
    crossEntropy: (logits, targets, rows, cols, ignoreIndex, losses, lse) =>
      n.crossEntropy(logits, targets, rows, cols, ignoreIndex, losses, lse),
    crossEntropyBackward: (logits, targets, lse, gLoss, rows, cols, ignoreIndex, glogits) =>
      n.crossEntropyBackward(logits, targets, lse, gLoss, rows, cols, ignoreIndex, glogits),
    copyStrided: (src, offset, shape, strides, out) => n.copyStrided(src, offset, out, packDims(shape, strides)),
    adamw: (p, g, m, v, lr, beta1, beta2, eps, weightDecay, step) => n.adamw(p, g, m, v, lr, beta1, beta2, eps, weightDecay, step),
    quantMatmul(dtype, layout, x, m, k, w, cols, out) {
      if (layout !== "rows" && layout !== "grouped16") {
        throw new TypeError(`quantMatmul: layout must be "rows" or "grouped16", got "${String(layout)}"`);
      }
      n.quantMatmul(dtype, layout === "grouped16", x, m, k, w, cols, out);
    },
    // Every dtype but Q8_ROW has a grouped kernel, several times faster than the row-wise one.
    preferredQuantLayout: (dtype: QuantDType) => (dtype === "Q8_ROW" ? "rows" : "grouped16"),
    quantKernelName: () => `native/${n.quantKernelLevel()}`,
    linearHalf: (dtype, x, m, k, bits, cols, out) => n.linearHalf(dtype, x, m, k, bits, cols, out),
    // The native kernel has no sliding window: a windowed model's attention runs the js reference.
    attention: (a) =>
      a.window
        ? attentionJs(a)
        : n.attention(a.batch, a.steps, a.heads, a.kvHeads, a.headDim, a.q, a.keys, a.values, a.capacity, a.valid, a.start, a.scale, a.out),
    causalAttention: (a, out) => n.causalAttention(causalAttentionDims(a), a.scale, a.q, a.k, a.v, a.keyValid, out, a.probs),
    causalAttentionBackward: (a) =>
      n.causalAttentionBackward(causalAttentionDims(a), a.scale, a.q, a.k, a.v, a.probs, a.gOut, a.gq, a.gk, a.gv),
  };
}

/** The sizes, window and the offset and strides of q, k, v, as native/addon.cc reads them. */
function causalAttentionDims(a: CausalAttentionArgs): Float64Array {
  const d = new Float64Array(18);
  d[0] = a.batch;
  d[1] = a.time;
  d[2] = a.heads;
  d[3] = a.kvHeads;
  d[4] = a.headDim;
  d[5] = a.window;
  const views = [
    [a.qOffset, a.qStrides],
    [a.kOffset, a.kStrides],
    [a.vOffset, a.vStrides],
  ] as const;
  for (let i = 0; i < 3; i++) {
    const [offset, strides] = views[i]!;
    d[6 + 4 * i] = offset;
    d[7 + 4 * i] = strides[0];
    d[8 + 4 * i] = strides[1];
    d[9 + 4 * i] = strides[2];
  }
  return d;
}

let backend: Backend | null = null;

/** The native backend, or null when the addon is not built or does not load (see nativeUnavailableReason). */
export function loadNativeBackend(): Backend | null {
  if (backend) return backend;
  const a = loadAddon();
  if (!a) return null;
  backend = makeBackend(a);
  return backend;
}
