// The webgpu backend's kernels: WGSL (src/backend/webgpu/*_wgsl.ts) behind the signatures of
// the `Backend` interface (backend.ts), on a GPU reached through the npm package `webgpu`
// (Dawn) in Node or navigator.gpu in a browser.
//
// WebGPU can only read a buffer back through mapAsync, and plain JS cannot block on a promise,
// so each method here has the arguments of its Backend counterpart but returns a promise: it
// uploads its inputs, dispatches its compute pass(es) and reads the outputs back into the
// caller's arrays. The synchronous `Backend` that the tensor ops use (setBackend("webgpu"))
// runs these methods in a worker thread while the caller blocks: webgpu/sync_backend.ts.
import type {
  AttentionArgs,
  BinaryOp,
  CausalAttentionArgs,
  CausalAttentionBackwardArgs,
  MatmulArgs,
  QuantDType,
  QuantLayout,
  ReduceOp,
  UnaryOp,
} from "./backend.js";
import { checkAttentionArgs } from "./js_attention.js";
import { checkLinearHalfArgs } from "./js_half.js";
import { checkQuantMatmulArgs } from "./js_quant.js";
import { quantizeActivations } from "./quant_activations.js";
import { adamwWgsl } from "./webgpu/adamw_wgsl.js";
import { attentionWgsl } from "./webgpu/attention_wgsl.js";
import { causalAttentionGradKVWgsl, causalAttentionGradQWgsl, causalAttentionWgsl } from "./webgpu/causal_attention_wgsl.js";
import { type GpuContext, type KernelBuffer, Params } from "./webgpu/context.js";
import { crossEntropyBackwardWgsl, crossEntropyWgsl } from "./webgpu/cross_entropy_wgsl.js";
import {
  COMPARISONS,
  ELEMENT_THREADS,
  MAX_BINARY_RANK,
  binaryWgsl,
  isGpuBinary,
  isGpuUnary,
  unaryBackwardWgsl,
  unaryWgsl,
} from "./webgpu/elementwise_wgsl.js";
import { embeddingBackwardWgsl, embeddingWgsl } from "./webgpu/embedding_wgsl.js";
import { MATMUL_SMALL_TILE, MATMUL_TILE, type MatmulB, matmulSmallWgsl, matmulWgsl } from "./webgpu/matmul_wgsl.js";
import { layerNormBackwardWgsl, layerNormParamGradWgsl, rmsNormBackwardWgsl, rmsNormParamGradWgsl } from "./webgpu/norm_backward_wgsl.js";
import { layerNormWgsl, rmsNormWgsl } from "./webgpu/norm_wgsl.js";
import { openWebGPU } from "./webgpu/open.js";
import { q8_0MatmulWgsl } from "./webgpu/q8_0_wgsl.js";
import { argReduceWgsl, reduceWgsl } from "./webgpu/reduce_wgsl.js";
import { softmaxBackwardWgsl, softmaxWgsl } from "./webgpu/softmax_wgsl.js";
import { MAX_COPY_RANK, copyStridedWgsl } from "./webgpu/strided_copy_wgsl.js";

export { openWebGPU } from "./webgpu/open.js";

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
/** Bound in place of an optional input (a norm without weight): WebGPU bindings cannot be empty. */
const dummy = (): Float32Array => new Float32Array(1);

function need(name: string, arr: ArrayLike<number>, len: number, fn: string): void {
  if (arr.length < len) throw new RangeError(`webgpu ${fn}: ${name} has ${arr.length} elements, needs ${len}`);
}

/** The js backend's check (and message) for a target outside [0, cols) that is not ignoreIndex. */
export function checkTargets(targets: Int32Array, rows: number, cols: number, ignoreIndex: number): void {
  need("targets", targets, rows, "crossEntropy");
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t !== ignoreIndex && (t < 0 || t >= cols))
      throw new RangeError(`crossEntropy: target ${t} at row ${r} is out of range for ${cols} classes`);
  }
}

/** Checks the sizes of a causalAttention call; returns its number of score rows (B · heads · T). */
function checkCausalAttention(a: CausalAttentionArgs): number {
  for (const name of ["batch", "time", "heads", "kvHeads", "headDim", "window"] as const) {
    if (!Number.isSafeInteger(a[name]) || a[name] < 0)
      throw new RangeError(`causalAttention: ${name} must be an integer ≥ 0, got ${a[name]}`);
  }
  if (a.kvHeads === 0 || a.heads % a.kvHeads !== 0)
    throw new RangeError(`causalAttention: heads (${a.heads}) must be a positive multiple of kvHeads (${a.kvHeads})`);
  const rows = a.batch * a.heads * a.time;
  need("probs", a.probs, rows * a.time, "causalAttention");
  if (a.keyValid) need("keyValid", a.keyValid, a.batch * a.time, "causalAttention");
  return rows;
}

/** The uniform of the causal attention kernels (causal_attention_wgsl.ts's struct P). */
function causalAttentionParams(a: CausalAttentionArgs, gradOffsets: [number, number, number]): Params {
  const p = new Params()
    .u32(a.batch)
    .u32(a.time)
    .u32(a.heads)
    .u32(a.kvHeads)
    .u32(a.headDim)
    .u32(a.window)
    .u32(a.keyValid ? 1 : 0)
    .f32(a.scale);
  for (const [off, st] of [
    [a.qOffset, a.qStrides],
    [a.kOffset, a.kStrides],
    [a.vOffset, a.vStrides],
  ] as const) {
    p.u32(off).u32(st[0]).u32(st[1]).u32(st[2]);
  }
  for (const o of gradOffsets) p.u32(o);
  return p.u32(0);
}

/** The strided-copy shader's parameters: n elements of the view (offset, shape, strides) to Dst from word dstOff. */
function copyParams(n: number, offset: number, shape: readonly number[], strides: readonly number[], dstOff: number): Params {
  const p = new Params().u32(n).u32(offset).u32(shape.length).u32(dstOff);
  for (const arr of [shape, strides]) for (let d = 0; d < MAX_COPY_RANK; d++) p.u32(arr[d] ?? 1);
  return p;
}

export class WebGPUBackend {
  readonly name = "webgpu";
  /**
   * Whether linearHalf reads f16 weights as WGSL f16 when the adapter has shader-f16 (true), or
   * decodes their bits by hand as on adapters without it (false; tests compare the two paths).
   */
  useShaderF16 = true;
  constructor(readonly gpu: GpuContext) {}

  /** The adapter's name (vendor / architecture / device / description), for logs and benchmarks. */
  get adapterName(): string {
    return this.gpu.adapterName;
  }

  async matmul(a: MatmulArgs): Promise<void> {
    const { batch, m, n, k } = a;
    need("a", a.a, a.aOffset + (batch - 1) * a.aBatchStride + m * k, "matmul");
    need("b", a.b, a.bOffset + (batch - 1) * a.bBatchStride + k * n, "matmul");
    need("c", a.c, batch * m * n, "matmul");
    if (batch * m * n === 0) return;
    await this.tiledMatmul("f32", a, a.b);
  }

  /** Runs the tiled matmul kernel (matmul_wgsl.ts) on `a`, with B = `b` stored as `bType`. */
  private async tiledMatmul(bType: MatmulB, a: MatmulArgs, b: ArrayBufferView): Promise<void> {
    const { batch, m, n, k } = a;
    const c = a.c.subarray(0, batch * m * n);
    const p = new Params()
      .u32(batch)
      .u32(m)
      .u32(n)
      .u32(k)
      .u32(a.aOffset)
      .u32(a.aBatchStride)
      .u32(a.bOffset)
      .u32(a.bBatchStride)
      .u32(a.transA ? 1 : 0)
      .u32(a.transB ? 1 : 0)
      .u32(a.accumulate ? 1 : 0);
    // 64×64 tiles with 4×4 outputs per thread, unless the product is too thin to fill them.
    const big = Math.min(m, n) >= 32;
    const tile = big ? MATMUL_TILE : MATMUL_SMALL_TILE;
    const groups = batch * ceilDiv(m, tile) * ceilDiv(n, tile);
    const buffers = [{ data: a.a }, { data: b }, { data: c, output: true }];
    const suffix = bType === "f32" ? "" : `_${bType}`;
    const key = `${big ? "matmul" : "matmul_small"}${suffix}`;
    await this.gpu.run(key, () => (big ? matmulWgsl(bType) : matmulSmallWgsl(bType)), buffers, p, groups);
  }

  async unary(op: UnaryOp, x: Float32Array, out: Float32Array): Promise<void> {
    if (!isGpuUnary(op)) throw new RangeError(`webgpu unary: unknown op "${String(op)}"`);
    need("out", out, x.length, "unary");
    if (x.length === 0) return;
    await this.gpu.run(
      `unary_${op}`,
      unaryWgsl(op),
      [{ data: x }, { data: out.subarray(0, x.length), output: true }],
      new Params().u32(x.length),
      ceilDiv(x.length, ELEMENT_THREADS),
    );
  }

  /**
   * Float32 inputs only (int32 arithmetic stays on the js backend). Comparisons write 0/1 into
   * a Uint8Array out: the shader writes f32 0/1, narrowed here.
   */
  async binary(
    op: BinaryOp,
    a: Float32Array,
    aOffset: number,
    aStrides: readonly number[],
    b: Float32Array,
    bOffset: number,
    bStrides: readonly number[],
    out: Float32Array | Uint8Array,
    shape: readonly number[],
  ): Promise<void> {
    const compare = COMPARISONS.includes(op);
    if (
      !isGpuBinary(op) ||
      !(a instanceof Float32Array) ||
      !(b instanceof Float32Array) ||
      !(out instanceof (compare ? Uint8Array : Float32Array))
    ) {
      throw new Error(`webgpu binary: unsupported op "${op}" for these array types (float32 inputs only)`);
    }
    if (shape.length > MAX_BINARY_RANK) throw new RangeError(`webgpu binary: rank ${shape.length} > ${MAX_BINARY_RANK}`);
    const n = shape.reduce((x, y) => x * y, 1);
    need("out", out, n, "binary");
    if (n === 0) return;
    const p = new Params().u32(n).u32(aOffset).u32(bOffset).u32(shape.length);
    for (const arr of [shape, aStrides, bStrides]) for (let d = 0; d < MAX_BINARY_RANK; d++) p.u32(arr[d] ?? 1);
    const y = compare ? new Float32Array(n) : out.subarray(0, n);
    await this.gpu.run(
      `binary_${op}`,
      binaryWgsl(op),
      [{ data: a }, { data: b }, { data: y, output: true }],
      p,
      ceilDiv(n, ELEMENT_THREADS),
    );
    if (compare) out.set(y);
  }

  async unaryBackward(op: UnaryOp, x: Float32Array, y: Float32Array, gy: Float32Array, gx: Float32Array): Promise<void> {
    if (!isGpuUnary(op)) throw new RangeError(`webgpu unaryBackward: unknown op "${String(op)}"`);
    const n = x.length;
    for (const [name, arr] of [
      ["y", y],
      ["gy", gy],
      ["gx", gx],
    ] as const)
      need(name, arr, n, "unaryBackward");
    if (n === 0) return;
    await this.gpu.run(
      `unary_backward_${op}`,
      unaryBackwardWgsl(op),
      [{ data: x }, { data: y.subarray(0, n) }, { data: gy.subarray(0, n) }, { data: gx.subarray(0, n), output: true }],
      new Params().u32(n),
      ceilDiv(n, ELEMENT_THREADS),
    );
  }

  async reduce(op: ReduceOp, x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): Promise<void> {
    const n = outer * inner;
    need("x", x, outer * size * inner, "reduce");
    need("out", out, n, "reduce");
    if (n === 0) return;
    if (size === 0) {
      out.fill(op === "sum" ? 0 : op === "max" ? -Infinity : Infinity, 0, n); // the empty sum, max and min
      return;
    }
    await this.gpu.run(
      `reduce_${op}`,
      reduceWgsl(op),
      [{ data: x }, { data: out.subarray(0, n), output: true }],
      new Params().u32(outer).u32(size).u32(inner),
      ceilDiv(n, ELEMENT_THREADS),
    );
  }

  async argReduce(op: "argmax" | "argmin", x: Float32Array, outer: number, size: number, inner: number, out: Int32Array): Promise<void> {
    const n = outer * inner;
    need("out", out, n, op);
    if (n === 0) return;
    if (size === 0) throw new RangeError(`${op}: cannot take the ${op} of an empty axis`);
    need("x", x, outer * size * inner, op);
    await this.gpu.run(
      op,
      argReduceWgsl(op),
      [{ data: x }, { data: out.subarray(0, n), output: true }],
      new Params().u32(outer).u32(size).u32(inner),
      ceilDiv(n, ELEMENT_THREADS),
    );
  }

  /** float32 and int32 sources (32-bit words); byte arrays stay on the js backend. */
  async copyStrided(
    src: Float32Array | Int32Array,
    offset: number,
    shape: readonly number[],
    strides: readonly number[],
    out: Float32Array | Int32Array,
  ): Promise<void> {
    if (shape.length > MAX_COPY_RANK) throw new RangeError(`webgpu copyStrided: rank ${shape.length} > ${MAX_COPY_RANK}`);
    const n = shape.reduce((x, y) => x * y, 1);
    need("out", out, n, "copyStrided");
    if (n === 0) return;
    await this.gpu.run(
      "copyStrided",
      copyStridedWgsl,
      [{ data: src }, { data: out.subarray(0, n), output: true }],
      copyParams(n, offset, shape, strides, 0),
      ceilDiv(n, ELEMENT_THREADS),
    );
  }

  async softmax(x: Float32Array, rows: number, cols: number, out: Float32Array, log: boolean): Promise<void> {
    need("x", x, rows * cols, "softmax");
    need("out", out, rows * cols, "softmax");
    if (rows * cols === 0) return;
    await this.gpu.run(
      "softmax",
      softmaxWgsl,
      [{ data: x.subarray(0, rows * cols) }, { data: out.subarray(0, rows * cols), output: true }],
      new Params()
        .u32(rows)
        .u32(cols)
        .u32(log ? 1 : 0),
      rows,
    );
  }

  async softmaxBackward(y: Float32Array, gy: Float32Array, rows: number, cols: number, gx: Float32Array, log: boolean): Promise<void> {
    const n = rows * cols;
    for (const [name, arr] of [
      ["y", y],
      ["gy", gy],
      ["gx", gx],
    ] as const)
      need(name, arr, n, "softmaxBackward");
    if (n === 0) return;
    await this.gpu.run(
      "softmaxBackward",
      softmaxBackwardWgsl,
      [{ data: y.subarray(0, n) }, { data: gy.subarray(0, n) }, { data: gx.subarray(0, n), output: true }],
      new Params()
        .u32(rows)
        .u32(cols)
        .u32(log ? 1 : 0),
      rows,
    );
  }

  async layerNorm(
    x: Float32Array,
    w: Float32Array | null,
    b: Float32Array | null,
    rows: number,
    cols: number,
    eps: number,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
  ): Promise<void> {
    need("x", x, rows * cols, "layerNorm");
    need("out", out, rows * cols, "layerNorm");
    if (w) need("w", w, cols, "layerNorm");
    if (b) need("b", b, cols, "layerNorm");
    if (rows === 0) return;
    const p = new Params()
      .u32(rows)
      .u32(cols)
      .f32(eps)
      .u32(w ? 1 : 0)
      .u32(b ? 1 : 0);
    await this.gpu.run(
      "layerNorm",
      layerNormWgsl,
      [
        { data: x.subarray(0, rows * cols) },
        { data: w ?? dummy() },
        { data: b ?? dummy() },
        { data: out.subarray(0, rows * cols), output: true },
        { data: mean.subarray(0, rows), output: true },
        { data: rstd.subarray(0, rows), output: true },
      ],
      p,
      rows,
    );
  }

  /** gx per row; then gw and gb (when given) accumulate per column. */
  async layerNormBackward(
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
  ): Promise<void> {
    const n = rows * cols;
    for (const [name, arr] of [
      ["x", x],
      ["gy", gy],
      ["gx", gx],
    ] as const)
      need(name, arr, n, "layerNormBackward");
    need("mean", mean, rows, "layerNormBackward");
    need("rstd", rstd, rows, "layerNormBackward");
    for (const [name, arr] of [
      ["w", w],
      ["gw", gw],
      ["gb", gb],
    ] as const)
      if (arr) need(name, arr, cols, "layerNormBackward");
    if (n === 0) return;
    const [xs, gys, ms, rs] = [x.subarray(0, n), gy.subarray(0, n), mean.subarray(0, rows), rstd.subarray(0, rows)];
    await this.gpu.run(
      "layerNormBackward",
      layerNormBackwardWgsl,
      [{ data: xs }, { data: w ?? dummy() }, { data: ms }, { data: rs }, { data: gys }, { data: gx.subarray(0, n), output: true }],
      new Params()
        .u32(rows)
        .u32(cols)
        .u32(w ? 1 : 0),
      rows,
    );
    if (!gw && !gb) return;
    await this.gpu.run(
      "layerNormParamGrad",
      layerNormParamGradWgsl,
      [
        { data: xs },
        { data: ms },
        { data: rs },
        { data: gys },
        { data: gw ? gw.subarray(0, cols) : dummy(), output: gw !== null },
        { data: gb ? gb.subarray(0, cols) : dummy(), output: gb !== null },
      ],
      new Params()
        .u32(rows)
        .u32(cols)
        .u32(gw ? 1 : 0)
        .u32(gb ? 1 : 0),
      ceilDiv(cols, ELEMENT_THREADS),
    );
  }

  async rmsNorm(
    x: Float32Array,
    w: Float32Array | null,
    rows: number,
    cols: number,
    eps: number,
    out: Float32Array,
    rstd: Float32Array,
  ): Promise<void> {
    need("x", x, rows * cols, "rmsNorm");
    need("out", out, rows * cols, "rmsNorm");
    if (w) need("w", w, cols, "rmsNorm");
    if (rows === 0) return;
    await this.gpu.run(
      "rmsNorm",
      rmsNormWgsl,
      [
        { data: x.subarray(0, rows * cols) },
        { data: w ?? dummy() },
        { data: out.subarray(0, rows * cols), output: true },
        { data: rstd.subarray(0, rows), output: true },
      ],
      new Params()
        .u32(rows)
        .u32(cols)
        .f32(eps)
        .u32(w ? 1 : 0),
      rows,
    );
  }

  /** gx per row; then gw (when given) accumulates per column. */
  async rmsNormBackward(
    x: Float32Array,
    w: Float32Array | null,
    rstd: Float32Array,
    gy: Float32Array,
    rows: number,
    cols: number,
    gx: Float32Array,
    gw: Float32Array | null,
  ): Promise<void> {
    const n = rows * cols;
    for (const [name, arr] of [
      ["x", x],
      ["gy", gy],
      ["gx", gx],
    ] as const)
      need(name, arr, n, "rmsNormBackward");
    need("rstd", rstd, rows, "rmsNormBackward");
    for (const [name, arr] of [
      ["w", w],
      ["gw", gw],
    ] as const)
      if (arr) need(name, arr, cols, "rmsNormBackward");
    if (n === 0) return;
    const [xs, gys, rs] = [x.subarray(0, n), gy.subarray(0, n), rstd.subarray(0, rows)];
    await this.gpu.run(
      "rmsNormBackward",
      rmsNormBackwardWgsl,
      [{ data: xs }, { data: w ?? dummy() }, { data: rs }, { data: gys }, { data: gx.subarray(0, n), output: true }],
      new Params()
        .u32(rows)
        .u32(cols)
        .u32(w ? 1 : 0),
      rows,
    );
    if (!gw) return;
    await this.gpu.run(
      "rmsNormParamGrad",
      rmsNormParamGradWgsl,
      [{ data: xs }, { data: rs }, { data: gys }, { data: gw.subarray(0, cols), output: true }],
      new Params().u32(rows).u32(cols),
      ceilDiv(cols, ELEMENT_THREADS),
    );
  }

  async embedding(weight: Float32Array, vocab: number, dim: number, ids: Int32Array, out: Float32Array): Promise<void> {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < vocab))
        throw new RangeError(`embedding: index ${id} at position ${i} is out of range for a vocabulary of ${vocab}`);
    }
    need("weight", weight, vocab * dim, "embedding");
    const n = ids.length * dim;
    need("out", out, n, "embedding");
    if (n === 0) return;
    await this.gpu.run(
      "embedding",
      embeddingWgsl,
      [{ data: weight }, { data: ids }, { data: out.subarray(0, n), output: true }],
      new Params().u32(n).u32(dim),
      ceilDiv(n, ELEMENT_THREADS),
    );
  }

  /** gw[ids[i], :] += gy[i, :]; ids are trusted (the forward pass checked them). */
  async embeddingBackward(gy: Float32Array, ids: Int32Array, dim: number, gw: Float32Array): Promise<void> {
    need("gy", gy, ids.length * dim, "embeddingBackward");
    if (ids.length * dim === 0) return;
    await this.gpu.run(
      "embeddingBackward",
      embeddingBackwardWgsl,
      [{ data: gy.subarray(0, ids.length * dim) }, { data: ids }, { data: gw, output: true }],
      new Params().u32(ids.length).u32(dim),
      ceilDiv(dim, ELEMENT_THREADS),
    );
  }

  async crossEntropy(
    logits: Float32Array,
    targets: Int32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
    losses: Float32Array,
    lse: Float32Array,
  ): Promise<void> {
    checkTargets(targets, rows, cols, ignoreIndex);
    need("logits", logits, rows * cols, "crossEntropy");
    need("losses", losses, rows, "crossEntropy");
    need("lse", lse, rows, "crossEntropy");
    if (rows === 0) return;
    await this.gpu.run(
      "crossEntropy",
      crossEntropyWgsl,
      [
        { data: logits.subarray(0, rows * cols) },
        { data: targets.subarray(0, rows) },
        { data: losses.subarray(0, rows), output: true },
        { data: lse.subarray(0, rows), output: true },
      ],
      new Params().u32(rows).u32(cols).i32(ignoreIndex),
      rows,
    );
  }

  async crossEntropyBackward(
    logits: Float32Array,
    targets: Int32Array,
    lse: Float32Array,
    gLoss: Float32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
    glogits: Float32Array,
  ): Promise<void> {
    checkTargets(targets, rows, cols, ignoreIndex);
    const n = rows * cols;
    need("logits", logits, n, "crossEntropyBackward");
    need("glogits", glogits, n, "crossEntropyBackward");
    need("lse", lse, rows, "crossEntropyBackward");
    need("gLoss", gLoss, rows, "crossEntropyBackward");
    if (n === 0) return;
    await this.gpu.run(
      "crossEntropyBackward",
      crossEntropyBackwardWgsl,
      [
        { data: logits.subarray(0, n) },
        { data: targets.subarray(0, rows) },
        { data: lse.subarray(0, rows) },
        { data: gLoss.subarray(0, rows) },
        { data: glogits.subarray(0, n), output: true },
      ],
      new Params().u32(rows).u32(cols).i32(ignoreIndex),
      ceilDiv(n, ELEMENT_THREADS),
    );
  }

  async adamw(
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
  ): Promise<void> {
    const n = p.length;
    for (const [name, arr] of [
      ["g", g],
      ["m", m],
      ["v", v],
    ] as const)
      need(name, arr, n, "adamw");
    if (n === 0) return;
    const params = new Params()
      .u32(n)
      .f32(lr)
      .f32(beta1)
      .f32(beta2)
      .f32(eps)
      .f32(weightDecay)
      .f32(1 - beta1 ** step)
      .f32(1 - beta2 ** step);
    await this.gpu.run(
      "adamw",
      adamwWgsl,
      [
        { data: p, output: true },
        { data: g.subarray(0, n) },
        { data: m.subarray(0, n), output: true },
        { data: v.subarray(0, n), output: true },
      ],
      params,
      ceilDiv(n, ELEMENT_THREADS),
    );
  }

  async linearHalf(
    dtype: "F16" | "BF16",
    x: Float32Array,
    m: number,
    k: number,
    bits: Uint16Array,
    n: number,
    out: Float32Array,
  ): Promise<void> {
    checkLinearHalfArgs(dtype, x, m, k, bits, n, out);
    if (m * n === 0) return;
    // x · Wᵀ is the tiled matmul with B = W (n × k) transposed, its 16-bit values widened as
    // they are staged: natively as f16 where the adapter has shader-f16, else from the bits.
    const bType: MatmulB = dtype === "BF16" ? "BF16bits" : this.useShaderF16 && this.gpu.hasShaderF16 ? "f16" : "F16bits";
    const args: MatmulArgs = {
      batch: 1,
      m,
      n,
      k,
      a: x,
      aOffset: 0,
      aBatchStride: m * k,
      transA: false,
      b: new Float32Array(0), // unused: B is `bits`
      bOffset: 0,
      bBatchStride: n * k,
      transB: true,
      c: out,
      accumulate: false,
    };
    await this.tiledMatmul(bType, args, bits.subarray(0, n * k));
  }

  async attention(a: AttentionArgs): Promise<void> {
    checkAttentionArgs(a);
    const { batch, steps, heads, kvHeads, headDim, capacity, start } = a;
    const qLen = batch * steps * heads * headDim;
    if (qLen === 0) return;
    const groups = batch * steps * heads;
    const p = new Params()
      .u32(batch)
      .u32(steps)
      .u32(heads)
      .u32(kvHeads)
      .u32(headDim)
      .u32(capacity)
      .u32(start)
      .f32(a.scale)
      .u32(a.window ?? 0);
    await this.gpu.run(
      "attention",
      attentionWgsl,
      [
        { data: a.q },
        { data: a.keys },
        { data: a.values },
        { data: a.valid },
        { data: new Float32Array(groups * capacity) },
        { data: a.out.subarray(0, qLen), output: true },
      ],
      p,
      groups,
    );
  }

  /** Training attention, forward: writes out (B·T, heads·headDim) and probs (B, heads, T, T). */
  async causalAttention(a: CausalAttentionArgs, out: Float32Array): Promise<void> {
    const rows = checkCausalAttention(a);
    need("out", out, a.batch * a.time * a.heads * a.headDim, "causalAttention");
    if (rows === 0) return;
    const probs = a.probs.subarray(0, rows * a.time);
    await this.gpu.run(
      "causalAttention",
      causalAttentionWgsl,
      [
        { data: a.q },
        { data: a.k },
        { data: a.v },
        { data: a.keyValid ?? new Uint8Array(4) },
        { data: probs, output: true },
        { data: out.subarray(0, a.batch * a.time * a.heads * a.headDim), output: true },
      ],
      causalAttentionParams(a, [0, 0, 0]),
      rows,
    );
  }

  /** Training attention, backward: accumulates into gq, gk, gv (which may be one packed array). */
  async causalAttentionBackward(a: CausalAttentionBackwardArgs): Promise<void> {
    const rows = checkCausalAttention(a);
    need("gOut", a.gOut, a.batch * a.time * a.heads * a.headDim, "causalAttentionBackward");
    if (rows === 0) return;
    // One writable buffer for the three gradients: the packed array itself, or the three laid
    // end to end in a buffer that lives on the GPU only, copied in and out there.
    const same = (x: Float32Array, y: Float32Array) => x.buffer === y.buffer && x.byteOffset === y.byteOffset && x.length === y.length;
    const packed = same(a.gq, a.gk) && same(a.gq, a.gv);
    const parts = [a.gq, a.gk, a.gv];
    const starts = [0, a.gq.length, a.gq.length + a.gk.length];
    const g = packed ? a.gq : new Float32Array(a.gq.length + a.gk.length + a.gv.length);
    const gBinding = packed ? { data: g, output: true } : { data: g, deviceOnly: true };
    const params = causalAttentionParams(a, packed ? [0, 0, 0] : (starts as [number, number, number]));
    const probs = { data: a.probs.subarray(0, rows * a.time) };
    const gOut = { data: a.gOut.subarray(0, a.batch * a.time * a.heads * a.headDim) };
    // The score gradients: written by the first pass, read by the second, never by the CPU.
    const dS = { data: new Float32Array(rows * a.time), deviceOnly: true };
    try {
      // The kernels accumulate: the gradients so far go in first.
      if (!packed) for (let i = 0; i < 3; i++) await this.copyRange(parts[i]!, 0, gBinding, starts[i]!, parts[i]!.length);
      await this.gpu.run(
        "causalAttentionGradQ",
        causalAttentionGradQWgsl,
        [{ data: a.k }, { data: a.v }, probs, gOut, dS, gBinding],
        params,
        rows,
      );
      const kvElements = a.batch * a.kvHeads * a.time * a.headDim;
      await this.gpu.run(
        "causalAttentionGradKV",
        causalAttentionGradKVWgsl,
        [{ data: a.q }, probs, gOut, dS, gBinding],
        params,
        ceilDiv(kvElements, ELEMENT_THREADS),
      );
      if (!packed)
        for (let i = 0; i < 3; i++) await this.copyRange(g, starts[i]!, { data: parts[i]!, output: true }, 0, parts[i]!.length, true);
    } finally {
      this.gpu.releaseDeviceOnly(dS.data);
      if (!packed) this.gpu.releaseDeviceOnly(g);
    }
  }

  /**
   * dst[dstOff …] = src[srcOff …] (n floats) on the GPU. `dst` is a binding: an output, or a
   * buffer on the GPU only; `srcOnDevice`: src is such a buffer too.
   */
  private async copyRange(
    src: Float32Array,
    srcOff: number,
    dst: KernelBuffer,
    dstOff: number,
    n: number,
    srcOnDevice = false,
  ): Promise<void> {
    if (n === 0) return;
    await this.gpu.run(
      "copyStrided",
      copyStridedWgsl,
      [srcOnDevice ? { data: src, deviceOnly: true } : { data: src }, dst],
      copyParams(n, srcOff, [n], [1], dstOff),
      ceilDiv(n, ELEMENT_THREADS),
    );
  }

  /** Q8_0 in the "rows" layout (preferredQuantLayout); other dtypes are not on the GPU yet. */
  async quantMatmul(
    dtype: QuantDType,
    layout: QuantLayout,
    x: Float32Array,
    m: number,
    k: number,
    w: Uint8Array,
    n: number,
    out: Float32Array,
  ): Promise<void> {
    checkQuantMatmulArgs(dtype, layout, x, m, k, w, n, out);
    if (dtype !== "Q8_0" || layout !== "rows")
      throw new Error(`webgpu quantMatmul: only Q8_0 in the "rows" layout runs on the GPU so far, got ${dtype}/${layout}`);
    if (m * n === 0) return;
    await this.gpu.currentOnCpu([x]); // quantized here, on the CPU
    const act = quantizeActivations(x.subarray(0, m * k), m, k); // the same codes as js and native
    await this.gpu.run(
      "q8_0",
      q8_0MatmulWgsl,
      [{ data: act.q }, { data: act.d }, { data: w }, { data: out.subarray(0, m * n), output: true }],
      new Params().u32(m).u32(n).u32(k),
      ceilDiv(m * n, ELEMENT_THREADS),
    );
  }

  preferredQuantLayout(_dtype: QuantDType): QuantLayout {
    return "rows";
  }

  destroy(): void {
    this.gpu.destroy();
  }
}

let warned = false;

/**
 * The webgpu backend, or null when no adapter exists here; then one line on stderr says why
 * (once per process) and the caller stays on the CPU backends.
 */
export async function loadWebGPUBackend(): Promise<WebGPUBackend | null> {
  const opened = await openWebGPU();
  if (opened.ok) return new WebGPUBackend(opened.context);
  if (!warned) {
    warned = true;
    process.stderr.write(`tsgpt: webgpu unavailable (${opened.reason}); staying on the CPU backend\n`);
  }
  return null;
}
