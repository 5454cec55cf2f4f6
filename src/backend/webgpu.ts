// The webgpu backend: WGSL kernels (src/backend/webgpu/*_wgsl.ts) behind the signatures of the
// `Backend` interface (backend.ts), on a GPU reached through the npm package `webgpu` (Dawn) in
// Node or navigator.gpu in a browser.
//
// Why it is not (yet) a `Backend`: that interface is synchronous, while WebGPU can only read a
// buffer back through mapAsync, and plain JS cannot block on a promise. So each method here
// has the same arguments as its Backend counterpart but returns a promise: it uploads its
// inputs, dispatches one compute pass and reads the outputs back into the caller's arrays.
// Making it a drop-in `setBackend("webgpu")` needs either async tensor ops or a worker thread
// that owns the device while the caller blocks on Atomics.wait; keeping weights and the KV
// cache resident on the GPU (instead of one upload per call) is the step after that.
import type { AttentionArgs, BinaryOp, MatmulArgs, QuantDType, QuantLayout, UnaryOp } from "./backend.js";
import { checkQuantMatmulArgs } from "./js_quant.js";
import { quantizeActivations } from "./quant_activations.js";
import { attentionWgsl } from "./webgpu/attention_wgsl.js";
import { type GpuContext, Params } from "./webgpu/context.js";
import { ELEMENT_THREADS, MAX_BINARY_RANK, binaryWgsl, isGpuBinary, isGpuUnary, unaryWgsl } from "./webgpu/elementwise_wgsl.js";
import { embeddingWgsl } from "./webgpu/embedding_wgsl.js";
import { MATMUL_TILE, matmulWgsl } from "./webgpu/matmul_wgsl.js";
import { layerNormWgsl, rmsNormWgsl } from "./webgpu/norm_wgsl.js";
import { openWebGPU } from "./webgpu/open.js";
import { q8_0MatmulWgsl } from "./webgpu/q8_0_wgsl.js";
import { softmaxWgsl } from "./webgpu/softmax_wgsl.js";

export { openWebGPU } from "./webgpu/open.js";

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
/** Bound in place of an optional input (a norm without weight): WebGPU bindings cannot be empty. */
const dummy = (): Float32Array => new Float32Array(1);

function need(name: string, arr: ArrayLike<number>, len: number, fn: string): void {
  if (arr.length < len) throw new RangeError(`webgpu ${fn}: ${name} has ${arr.length} elements, needs ${len}`);
}

export class WebGPUBackend {
  readonly name = "webgpu";
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
    const groups = batch * ceilDiv(m, MATMUL_TILE) * ceilDiv(n, MATMUL_TILE);
    await this.gpu.run("matmul", matmulWgsl, [{ data: a.a }, { data: a.b }, { data: c, output: true }], p, groups);
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

  /** Float ops only (add … minimum); comparisons and int32 inputs throw "unsupported" as native may. */
  async binary(
    op: BinaryOp,
    a: Float32Array,
    aOffset: number,
    aStrides: readonly number[],
    b: Float32Array,
    bOffset: number,
    bStrides: readonly number[],
    out: Float32Array,
    shape: readonly number[],
  ): Promise<void> {
    if (!isGpuBinary(op) || !(a instanceof Float32Array) || !(b instanceof Float32Array) || !(out instanceof Float32Array)) {
      throw new Error(`webgpu binary: unsupported op "${op}" for these array types (float add/sub/mul/div/pow/maximum/minimum only)`);
    }
    if (shape.length > MAX_BINARY_RANK) throw new RangeError(`webgpu binary: rank ${shape.length} > ${MAX_BINARY_RANK}`);
    const n = shape.reduce((x, y) => x * y, 1);
    need("out", out, n, "binary");
    if (n === 0) return;
    const p = new Params().u32(n).u32(aOffset).u32(bOffset).u32(shape.length);
    for (const arr of [shape, aStrides, bStrides]) for (let d = 0; d < MAX_BINARY_RANK; d++) p.u32(arr[d] ?? 1);
    await this.gpu.run(
      `binary_${op}`,
      binaryWgsl(op),
      [{ data: a }, { data: b }, { data: out.subarray(0, n), output: true }],
      p,
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

  async embedding(weight: Float32Array, vocab: number, dim: number, ids: Int32Array, out: Float32Array): Promise<void> {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < vocab)) throw new RangeError(`embedding: id ${id} at position ${i} is outside [0, ${vocab})`);
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

  async attention(a: AttentionArgs): Promise<void> {
    const { batch, steps, heads, kvHeads, headDim, capacity, start } = a;
    if (kvHeads <= 0 || heads % kvHeads !== 0)
      throw new RangeError(`attention: heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
    if (start + steps > capacity) throw new RangeError(`attention: start (${start}) + steps (${steps}) exceeds capacity (${capacity})`);
    const qLen = batch * steps * heads * headDim,
      kvLen = batch * kvHeads * capacity * headDim;
    need("q", a.q, qLen, "attention");
    need("keys", a.keys, kvLen, "attention");
    need("values", a.values, kvLen, "attention");
    need("valid", a.valid, batch * capacity, "attention");
    need("out", a.out, qLen, "attention");
    if (qLen === 0) return;
    const groups = batch * steps * heads;
    const p = new Params().u32(batch).u32(steps).u32(heads).u32(kvHeads).u32(headDim).u32(capacity).u32(start).f32(a.scale);
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
