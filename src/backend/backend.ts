// The kernel interface: every numeric loop of tsgpt goes through one of these functions.
//
// Three implementations exist: `js` (src/backend/js.ts, the readable reference and the
// oracle in tests), `native` (native/*.cc through src/backend/native.ts, SIMD and
// multi-threaded) and `webgpu` (WGSL kernels in src/backend/webgpu/, made synchronous by
// webgpu/sync_backend.ts). They must agree within the tolerances stated in the tests.
//
// Conventions (read these once, they hold for every kernel):
// - Buffers are plain typed arrays, row-major, and contiguous unless a kernel takes strides.
//   Float kernels take Float32Array; indices are Int32Array; masks are Uint8Array (0/1).
// - A kernel never allocates its output: the caller passes `out` with the right length.
// - Sizes are element counts, never bytes. Offsets are element offsets.
// - "rows × cols" kernels work on the last axis: `rows` is the product of the leading dims.
// - Backward kernels write (overwrite) their gradient outputs unless they say "accumulates".
// - Kernels that read indices validate them and throw a RangeError naming the bad index:
//   native code must never read or write out of bounds.

import type { QuantDType } from "./quant_blocks.js";

/** Element-wise functions of one float argument (every backend implements each). */
export const UNARY_OPS = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "abs",
  "tanh",
  "sigmoid",
  "relu",
  "gelu", // exact: x * 0.5 * (1 + erf(x / sqrt(2)))
  "gelu_tanh", // tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  "silu", // x * sigmoid(x)
  "square",
  "sin",
  "cos",
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/** Element-wise functions of two arguments (with broadcasting by strides). */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  // comparisons write 1 or 0 into a Uint8Array output
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge";

export type ReduceOp = "sum" | "max" | "min";

/** Any buffer a tensor may own. */
export type DataArray = Float32Array | Int32Array | Uint8Array;

export interface MatmulArgs {
  /** Number of independent products. */
  batch: number;
  /** C[b] is m × n; the inner dimension is k. */
  m: number;
  n: number;
  k: number;
  /** A[b] is m × k (or k × m stored when transA), starting at aOffset + b * aBatchStride. */
  a: Float32Array;
  aOffset: number;
  aBatchStride: number; // 0 broadcasts one A over the batch
  transA: boolean;
  /** B[b] is k × n (or n × k stored when transB), starting at bOffset + b * bBatchStride. */
  b: Float32Array;
  bOffset: number;
  bBatchStride: number; // 0 broadcasts one B over the batch
  transB: boolean;
  /** C is contiguous batch × m × n, starting at index 0 of c. */
  c: Float32Array;
  /** When true, C += A·B instead of C = A·B (gradient accumulation without a temporary). */
  accumulate: boolean;
}

/** The quantized weight formats (src/backend/quant_blocks.ts, src/quant/types.ts describe the bytes). */
export type { QuantDType };

/**
 * How the rows of a quantized matrix lie in memory: "rows" is the plain layout (GGUF's: row
 * after row); "grouped16" interleaves the blocks of 16 rows (src/backend/quant_row_groups.ts;
 * every dtype but Q8_ROW has one), which SIMD kernels stream several times faster.
 */
export type QuantLayout = "rows" | "grouped16";

/**
 * Causal attention of `steps` new tokens per row over a key/value cache (the decode and
 * prefill attention of src/generate/decoder.ts).
 *
 * Query head h reads key/value head h / (heads / kvHeads) (grouped-query attention). The new
 * token at step t of row b sits in slot start + t and sees the slots s ≤ start + t with
 * valid[b * capacity + s] = 1: out = softmax(scale · q · Kᵀ over those slots) · V. A query that
 * sees no valid slot (a padding token with nothing before it) gets an output of 0.
 */
export interface AttentionArgs {
  batch: number;
  steps: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** (batch × steps, heads × headDim): the new tokens' queries. */
  q: Float32Array;
  /** (batch, kvHeads, capacity, headDim) each: the cache, the new tokens' keys and values already in it. */
  keys: Float32Array;
  values: Float32Array;
  capacity: number;
  /** (batch, capacity): 1 where a slot holds a real token. */
  valid: Uint8Array;
  /** Slot of step 0 (the cache length before these tokens); start + steps ≤ capacity. */
  start: number;
  /** Usually 1 / sqrt(headDim). */
  scale: number;
  /** Sliding window: the token in slot i sees only slots i − window < s ≤ i; 0 or absent for none. */
  window?: number;
  /** (batch × steps, heads × headDim), written. */
  out: Float32Array;
}

/**
 * Causal self-attention of a training forward pass (all T tokens of each row at once), as one
 * kernel: the scores, the mask, the softmax and the weighted sum of values, with no (T, T) mask
 * and no head-split copies of q, k, v.
 *
 * q, k, v are read in place through strides, so heads can come straight from a packed q|k|v
 * projection: element (b, t, h, d) of q is q[qOffset + b·qStrides[0] + t·qStrides[1] +
 * h·qStrides[2] + d] (likewise k, v with kvHeads heads). Query head h reads key/value head
 * h / (heads / kvHeads). Query t sees key j when j ≤ t, t − j < window (when window > 0) and
 * keyValid[b·time + j] = 1 (when keyValid is given); a query that sees no key gets an output
 * of 0 and all-zero weights.
 */
export interface CausalAttentionArgs {
  batch: number;
  time: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  q: Float32Array;
  qOffset: number;
  qStrides: readonly [number, number, number];
  k: Float32Array;
  kOffset: number;
  kStrides: readonly [number, number, number];
  v: Float32Array;
  vOffset: number;
  vStrides: readonly [number, number, number];
  /** (batch × time) 1 = real token, 0 = pad; null: every key is real. */
  keyValid: Uint8Array | null;
  /** Sliding window (0: none). */
  window: number;
  /** Usually 1 / sqrt(headDim). */
  scale: number;
  /** (batch, heads, time, time): the attention weights, written by the forward pass, read by the backward pass. */
  probs: Float32Array;
}

/** The backward pass of causalAttention: the forward arguments (probs as it wrote them) and the gradients. */
export interface CausalAttentionBackwardArgs extends CausalAttentionArgs {
  /** (batch × time, heads × headDim): the gradient of the output. */
  gOut: Float32Array;
  /** Gradients of q, k, v, laid out like q, k, v (same offsets and strides): accumulated into. May share one buffer. */
  gq: Float32Array;
  gk: Float32Array;
  gv: Float32Array;
}

export interface Backend {
  readonly name: "js" | "native" | "webgpu";

  /** Batched C = op(A) · op(B) with op = identity or transpose. See MatmulArgs. */
  matmul(args: MatmulArgs): void;

  /** out[i] = op(x[i]) for i < x.length. out may alias x. */
  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void;

  /**
   * Gradient of a unary op: gx[i] = gy[i] * op'(x[i]).
   * `y` is the forward output op(x) (some derivatives are cheaper from it: exp, tanh, sigmoid).
   */
  unaryBackward(op: UnaryOp, x: Float32Array, y: Float32Array, gy: Float32Array, gx: Float32Array): void;

  /**
   * out = op(a, b) over `shape`, with broadcasting expressed as strides:
   * element at multi-index i reads a[aOffset + Σ i_d * aStrides[d]] (stride 0 on broadcast dims),
   * likewise b; out is contiguous over `shape`.
   * Float ops: a, b, out are Float32Array. Comparisons: out is Uint8Array; a and b may be
   * Float32Array or Int32Array (both the same type).
   * For "add"/"sub"/"mul"/"div"/"maximum"/"minimum" on Int32Array inputs, out is Int32Array
   * (the js backend must support this; native may throw "unsupported" and the caller falls back).
   */
  binary(
    op: BinaryOp,
    a: Float32Array | Int32Array,
    aOffset: number,
    aStrides: readonly number[],
    b: Float32Array | Int32Array,
    bOffset: number,
    bStrides: readonly number[],
    out: DataArray,
    shape: readonly number[],
  ): void;

  /**
   * Reduce the middle axis of a contiguous (outer, size, inner) array:
   * out[o * inner + j] = op over s of x[(o * size + s) * inner + j].
   */
  reduce(op: ReduceOp, x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): void;

  /** Index of the max (or min) along the middle axis, first index on ties. */
  argReduce(op: "argmax" | "argmin", x: Float32Array, outer: number, size: number, inner: number, out: Int32Array): void;

  /** Row-wise softmax (or log-softmax when log is true) over the last axis. Numerically stable. */
  softmax(x: Float32Array, rows: number, cols: number, out: Float32Array, log: boolean): void;

  /**
   * Gradient of softmax given its output y:
   * softmax:     gx = y * (gy - Σ gy*y)
   * log-softmax: gx = gy - exp(y) * Σ gy
   */
  softmaxBackward(y: Float32Array, gy: Float32Array, rows: number, cols: number, gx: Float32Array, log: boolean): void;

  /**
   * LayerNorm over the last axis: out = (x - mean) * rstd * w + b (w, b optional).
   * Writes mean[rows] and rstd[rows] (1/sqrt(var + eps), biased variance) for the backward pass.
   */
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

  /** Gradients of layerNorm: writes gx; accumulates into gw and gb when they are given. */
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

  /** RMSNorm over the last axis: out = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps). Writes rstd[rows]. */
  rmsNorm(x: Float32Array, w: Float32Array | null, rows: number, cols: number, eps: number, out: Float32Array, rstd: Float32Array): void;

  /** Gradients of rmsNorm: writes gx; accumulates into gw when given. */
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

  /** out[i, :] = weight[ids[i], :] for a (vocab × dim) weight. Throws RangeError on an id outside [0, vocab). */
  embedding(weight: Float32Array, vocab: number, dim: number, ids: Int32Array, out: Float32Array): void;

  /** gw[ids[i], :] += gy[i, :] (accumulates). Ids already validated by the forward pass. */
  embeddingBackward(gy: Float32Array, ids: Int32Array, dim: number, gw: Float32Array): void;

  /**
   * Per-row cross-entropy of logits (rows × cols) against integer targets:
   * losses[r] = logsumexp(logits[r]) - logits[r, t], or 0 where targets[r] == ignoreIndex.
   * Writes lse[r] = logsumexp(logits[r]) for the backward pass.
   * Throws RangeError on a target outside [0, cols) that is not ignoreIndex.
   */
  crossEntropy(
    logits: Float32Array,
    targets: Int32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
    losses: Float32Array,
    lse: Float32Array,
  ): void;

  /**
   * Gradient of cross-entropy: glogits[r, c] = gLoss[r] * (softmax(logits[r])[c] - [c == t]),
   * zero rows where targets[r] == ignoreIndex. gLoss is per row (the caller folds the
   * reduction — mean over non-ignored rows, or sum — into it). glogits may be logits itself:
   * the gradient then overwrites the logits.
   */
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

  /**
   * Gather a strided view into a contiguous buffer:
   * out[flat(i)] = src[offset + Σ i_d * strides[d]] over `shape`. src and out have the same type.
   */
  copyStrided(src: DataArray, offset: number, shape: readonly number[], strides: readonly number[], out: DataArray): void;

  /**
   * One AdamW step in place (decoupled weight decay, bias-corrected moments), PyTorch's formula:
   * p -= lr * wd * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
   * p -= lr * (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps).
   */
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

  /**
   * out (m × n) = x (m × k) · Wᵀ with W (n × k) quantized as `dtype`, in `layout`. Like
   * llama.cpp, each row of x is first quantized to 8-bit blocks of 32 (quant_activations.ts), so
   * the dot products are integer sums (js_quant.ts is the readable reference). k must be a
   * multiple of 32 (256 for Q4_K and Q6_K); w holds exactly n rows (plus n f32 row scales after
   * them for Q8_ROW, which has no grouped layout). Throws a RangeError naming a bad argument.
   */
  quantMatmul(
    dtype: QuantDType,
    layout: QuantLayout,
    x: Float32Array,
    m: number,
    k: number,
    w: Uint8Array,
    n: number,
    out: Float32Array,
  ): void;

  /** The layout quantMatmul multiplies fastest for this dtype (weights are packed to it once, at load). */
  preferredQuantLayout(dtype: QuantDType): QuantLayout;

  /** Which quantized kernels run: "js", or "native/<SIMD level>" (for benchmarks and logs). */
  quantKernelName(): string;

  /**
   * out (m × n) = x (m × k) · Wᵀ with W (n × k) kept as 16-bit bits (f16 or bf16), widened as
   * it is read. Throws a RangeError naming a buffer that is too short.
   */
  linearHalf(dtype: "F16" | "BF16", x: Float32Array, m: number, k: number, bits: Uint16Array, n: number, out: Float32Array): void;

  /** Causal, padding-masked, grouped-query attention over a KV cache. See AttentionArgs. */
  attention(args: AttentionArgs): void;

  /** Training attention: out (batch × time, heads × headDim) written, and probs. See CausalAttentionArgs. */
  causalAttention(args: CausalAttentionArgs, out: Float32Array): void;

  /** Gradients of causalAttention, accumulated into gq, gk, gv. See CausalAttentionBackwardArgs. */
  causalAttentionBackward(args: CausalAttentionBackwardArgs): void;
}
