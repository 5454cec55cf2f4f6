// The decoder on the GPU, through WebGPU: the same forward pass as decoder.ts, for every family
// src/arch/ describes (GPT-2: learned positions, LayerNorm, GELU; Llama / Mistral / Qwen: RoPE,
// RMSNorm, SiLU, grouped-query attention, sliding window, q/k norms), with the weights and the
// KV cache resident in GPU memory.
//
// One forward step is ONE command submission: every layer's kernels (webgpu/decode_*_wgsl.ts)
// are encoded into one compute pass, built once per (cache, step shape) as a fixed list of
// dispatches whose bind groups never change, so a step costs a few small buffer writes (token
// ids, positions, the padding mask, the cache offset), one submit and one readback:
//
//   forward()     reads back the logits (batch × vocab floats), for the generation loop's samplers;
//   greedyStep()  runs the argmax on the GPU too and reads back only (id, log p) per sequence.
//                 The chosen id stays on the GPU as the next step's input, so the loop can
//                 submit the next steps before this one is read back (up to 3 in flight).
//
// The file imports no Node module (a browser page uses it with navigator.gpu); a test checks.
// Weights: F32 stays f32; Q8_0, Q4_0 and Q4_K stay quantized and are dequantized by the matvec
// kernel (webgpu/weight_formats_wgsl.ts); other dtypes are widened to f32 at load.
/// <reference types="@webgpu/types" />
import { architectureOf, parseModelConfig, type BlockLayout } from "../arch/index.js";
import type { Checkpoint } from "../formats/types.js";
import { Params, grid, type GpuContext } from "../backend/webgpu/context.js";
import { openWebGPU } from "../backend/webgpu/open.js";
import { checkRope, ropeTables } from "../nn/rope_tables.js";
import type { DecoderDims } from "./decoder.js";
import { DecodeGpu } from "./webgpu/gpu.js";
import { uploadWeights, type GpuLinear, type GpuMatrix, type GpuNorm, type GpuWeights } from "./webgpu/weights.js";
import { matvecWgsl } from "./webgpu/decode_matvec_wgsl.js";
import { EMBED_THREADS, embedWgsl } from "./webgpu/decode_embed_wgsl.js";
import { normWgsl } from "./webgpu/decode_norm_wgsl.js";
import { ROPE_THREADS, ropeWgsl } from "./webgpu/decode_rope_wgsl.js";
import { KV_STORE_THREADS, kvStoreWgsl } from "./webgpu/decode_kv_store_wgsl.js";
import { attentionWgsl } from "./webgpu/decode_attention_wgsl.js";
import { FFN_THREADS, ffnWgsl } from "./webgpu/decode_ffn_wgsl.js";
import { argmaxWgsl } from "./webgpu/argmax_wgsl.js";

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** What greedyStep reads back: per sequence, the chosen id and its log-probability. */
export interface GreedyChoice {
  ids: Int32Array;
  logprobs: Float32Array;
}

/** One kernel launch of a step: its pipeline, its (fixed) bindings and its workgroup count. */
interface Dispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  groups: number;
}

/** Buffers of one step shape (n = batch × steps rows), and the dispatches that use them. */
interface Plan {
  steps: number;
  all: boolean;
  tokens: GPUBuffer;
  positions: GPUBuffer;
  logits: GPUBuffer;
  logitCount: number;
  dispatches: Dispatch[];
  /** The argmax dispatch (reads the logits of the last step; greedy only). */
  argmax: Dispatch;
  argmaxParams: GPUBuffer;
  /** Readback buffers not in use (a step in flight holds one). */
  staging: { logits: GPUBuffer[]; choice: GPUBuffer[] };
}

/** A KV cache in GPU memory: per layer (batch, kvHeads, capacity, headDim) keys and values. */
export class WebGPUKVCache {
  /** Slots filled so far (the same for every row). */
  length = 0;
  /** Per (row, slot): 1 for a real token (mirror of the GPU copy, written before each step). */
  readonly valid: Uint32Array;
  /** @internal */ plans = new Map<string, Plan>();
  /** Out-of-memory checks of the buffers made for this cache, awaited before a step runs. @internal */
  allocated: Promise<void>[] = [];
  /** @internal */ ropeRows = 0;
  /** @internal */ cos: GPUBuffer | null = null;
  /** @internal */ sin: GPUBuffer | null = null;
  private destroyed = false;

  /** @internal */
  constructor(
    readonly batch: number,
    readonly capacity: number,
    /** @internal */ readonly keys: GPUBuffer[],
    /** @internal */ readonly values: GPUBuffer[],
    /** @internal */ readonly validBuf: GPUBuffer,
    /** @internal */ readonly step: GPUBuffer,
    /** The ids greedyStep chose, fed to the next one-token step without leaving the GPU. @internal */
    readonly nextTokens: GPUBuffer,
    private readonly owned: GPUBuffer[],
  ) {
    this.valid = new Uint32Array(batch * capacity);
  }

  /** Slots still free. */
  get remaining(): number {
    return this.capacity - this.length;
  }

  /** @internal */ own(...bufs: GPUBuffer[]): void {
    this.owned.push(...bufs);
  }

  /** Frees the cache's GPU memory; the cache cannot be used afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.owned) b.destroy();
    this.plans.clear();
  }

  /** @internal */ checkUsable(): void {
    if (this.destroyed) throw new Error("webgpu: this KV cache was destroyed");
  }
}

export interface WebGPUDecoderOptions {
  /** An open device (openWebGPU); default: open the default adapter. */
  gpu?: GpuContext;
}

export class WebGPUDecoder {
  private readonly dummy: GPUBuffer;

  private constructor(
    readonly dims: DecoderDims,
    readonly layout: BlockLayout,
    private readonly gpu: DecodeGpu,
    private readonly w: GpuWeights,
    private readonly ownsDevice: boolean,
  ) {
    this.dummy = gpu.upload(new Float32Array(4), "unused binding");
  }

  /**
   * Uploads a checkpoint's weights to the GPU. Without an adapter, this throws an error saying
   * why (no `webgpu` package, no driver): callers that can fall back to the CPU catch it.
   */
  static async load(ckpt: Checkpoint, options: WebGPUDecoderOptions = {}): Promise<WebGPUDecoder> {
    const config = parseModelConfig({ ...ckpt.config }, ckpt.source.path);
    const arch = architectureOf(config);
    const layout = arch.layout(config);
    if (layout.positions === "rope") checkRope(arch.dims(config).headDim, layout.ropeTheta);
    const dims: DecoderDims = { ...arch.dims(config), arch: config.model_type, eps: layout.eps };
    let context = options.gpu;
    if (!context) {
      const opened = await openWebGPU();
      if (!opened.ok) throw new Error(`webgpu: ${opened.reason}`);
      context = opened.context;
    }
    const gpu = new DecodeGpu(context);
    try {
      const weights = await uploadWeights(gpu, ckpt, config, arch, layout, dims);
      return new WebGPUDecoder(dims, layout, gpu, weights, !options.gpu);
    } catch (e) {
      if (!options.gpu) context.destroy();
      throw e;
    }
  }

  /** The adapter's name (vendor / architecture / device / description). */
  get adapterName(): string {
    return this.gpu.adapterName;
  }

  /** Bytes of weights in GPU memory. */
  get weightBytes(): number {
    return this.w.bytes;
  }

  /** Bytes of weights one single-token step reads (all but the embedding rows it does not look up). */
  get weightBytesPerToken(): number {
    return this.w.bytesPerToken;
  }

  /** The weights' formats on the GPU, e.g. "q4_0" or "f32 + q8_0" (for logs). */
  get weightFormats(): string {
    const formats = new Set<string>([this.w.embed.format, this.w.output.format]);
    for (const L of this.w.layers) for (const p of [L.qkv, L.q, L.k, L.v, L.out, L.gate, L.up, L.down]) if (p) formats.add(p.w.format);
    return [...formats].sort().join(" + ");
  }

  /** Releases the weights (and the device, when this decoder opened it). */
  destroy(): void {
    if (this.ownsDevice) this.gpu.context.destroy();
  }

  /** A GPU cache for `batch` rows of `capacity` positions. */
  createCache(batch: number, capacity: number): WebGPUKVCache {
    const d = this.dims;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`KV cache: batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`KV cache: capacity must be a positive integer, got ${capacity}`);
    if (capacity > d.context) throw new RangeError(`KV cache of ${capacity} positions exceeds the model's context of ${d.context}`);
    this.gpu.checkAlive();
    const size = batch * capacity * d.kvHeads * d.headDim * 4;
    const g = this.gpu;
    const usage = GPUBufferUsage.STORAGE;
    const { value: cache, check } = g.allocatingNow(`a KV cache of ${batch} × ${capacity} positions (${2 * d.layers * size} bytes)`, () => {
      const keys = Array.from({ length: d.layers }, (_, l) => g.buffer(size, usage, `KV cache keys, layer ${l}`));
      const values = Array.from({ length: d.layers }, (_, l) => g.buffer(size, usage, `KV cache values, layer ${l}`));
      const validBuf = g.buffer(batch * capacity * 4, usage | GPUBufferUsage.COPY_DST, "KV cache padding mask");
      const step = g.buffer(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, "step offset");
      const next = g.buffer(batch * 4, usage | GPUBufferUsage.COPY_DST, "next token ids");
      return new WebGPUKVCache(batch, capacity, keys, values, validBuf, step, next, [...keys, ...values, validBuf, step, next]);
    });
    cache.allocated.push(check);
    return cache;
  }

  /**
   * Feeds `steps` tokens per row and returns logits, as DecoderModel.forward: tokens, positions,
   * valid are (batch, steps) row-major; returns (batch, vocab) logits of the last step, or
   * (batch, steps, vocab) when `all` is true.
   */
  async forward(
    cache: WebGPUKVCache,
    tokens: Int32Array,
    positions: Int32Array,
    valid: Uint8Array,
    steps: number,
    all = false,
  ): Promise<Float32Array> {
    const plan = this.prepare(cache, tokens, positions, valid, steps, all);
    await this.allocationsOf(cache);
    const staging = plan.staging.logits.pop() ?? this.stagingBuffer(plan.logitCount * 4, "logits readback");
    const enc = this.encode(plan, null);
    enc.copyBufferToBuffer(plan.logits, 0, staging, 0, plan.logitCount * 4);
    const submitted = this.gpu.submit(enc.finish());
    cache.length += steps;
    const [, bytes] = await Promise.all([submitted, this.gpu.read(staging, plan.logitCount * 4)]);
    plan.staging.logits.push(staging);
    return new Float32Array(bytes);
  }

  /**
   * One greedy step: feeds `tokens` ((batch, steps)), or with `tokens` null the ids the previous
   * greedyStep chose (still on the GPU; steps must be 1), and picks each row's most likely next
   * id below `limit` on the GPU. Only (id, log p) per row is read back. The returned promise may
   * be left pending while the next steps are submitted: the GPU runs them in order.
   */
  greedyStep(
    cache: WebGPUKVCache,
    tokens: Int32Array | null,
    positions: Int32Array,
    valid: Uint8Array,
    steps: number,
    limit: number,
  ): Promise<GreedyChoice> {
    const B = cache.batch;
    if (tokens === null && steps !== 1) throw new RangeError("greedyStep: the ids left on the GPU feed one step (steps = 1)");
    if (!Number.isInteger(limit) || limit < 1 || limit > this.dims.vocabSize)
      throw new RangeError(`greedyStep: limit must be an integer in [1, ${this.dims.vocabSize}], got ${limit}`);
    const plan = this.prepare(cache, tokens, positions, valid, steps, false);
    this.gpu.write(plan.argmaxParams, new Uint32Array([this.dims.vocabSize, limit, 0, 0]));
    const staging = plan.staging.choice.pop() ?? this.stagingBuffer(B * 8, "greedy readback");
    const enc = this.encode(plan, plan.argmax);
    enc.copyBufferToBuffer(this.choiceBuffer(cache), 0, staging, 0, B * 8);
    const submitted = this.gpu.submit(enc.finish());
    cache.length += steps;
    const allocated = this.allocationsOf(cache);
    return Promise.all([allocated, submitted, this.gpu.read(staging, B * 8)]).then(([, , bytes]) => {
      plan.staging.choice.push(staging);
      const words = new Uint32Array(bytes);
      const ids = new Int32Array(B),
        logprobs = new Float32Array(B);
      const f = new Float32Array(bytes);
      for (let b = 0; b < B; b++) {
        ids[b] = words[2 * b]!;
        logprobs[b] = f[2 * b + 1]!;
      }
      return { ids, logprobs };
    });
  }

  // --- one step ------------------------------------------------------------------------------

  /** Resolves once every allocation made for the cache so far is known to have succeeded (else an out-of-memory error). */
  private async allocationsOf(cache: WebGPUKVCache): Promise<void> {
    if (cache.allocated.length === 0) return;
    const checks = cache.allocated.splice(0);
    await Promise.all(checks);
  }

  /** Checks the step's inputs, writes them to the GPU, and returns the plan that runs it. */
  private prepare(
    cache: WebGPUKVCache,
    tokens: Int32Array | null,
    positions: Int32Array,
    valid: Uint8Array,
    steps: number,
    all: boolean,
  ): Plan {
    cache.checkUsable();
    this.gpu.checkAlive();
    const B = cache.batch,
      n = B * steps,
      d = this.dims;
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`forward: steps must be a positive integer, got ${steps}`);
    if ((tokens !== null && tokens.length !== n) || positions.length !== n || valid.length !== n) {
      throw new RangeError(`forward: tokens, positions and valid must each hold batch × steps = ${n} values`);
    }
    if (steps > cache.remaining)
      throw new RangeError(`forward: ${steps} tokens do not fit in the KV cache (${cache.remaining} of ${cache.capacity} positions left)`);
    let top = 0;
    for (let i = 0; i < n; i++) {
      if (!valid[i]) continue;
      if (positions[i]! < 0 || positions[i]! >= d.context)
        throw new RangeError(`forward: position ${positions[i]} is outside the model's context [0, ${d.context})`);
      if (tokens && (tokens[i]! < 0 || tokens[i]! >= d.vocabSize || !Number.isInteger(tokens[i])))
        throw new RangeError(`forward: token id ${tokens[i]} is outside the vocabulary [0, ${d.vocabSize})`);
      top = Math.max(top, positions[i]!);
    }
    this.growRope(cache, top + 1);
    const plan = this.plan(cache, steps, all);
    const start = cache.length;
    for (let b = 0; b < B; b++) for (let t = 0; t < steps; t++) cache.valid[b * cache.capacity + start + t] = valid[b * steps + t]!;
    if (tokens) this.gpu.write(plan.tokens, tokens);
    this.gpu.write(plan.positions, positions);
    this.gpu.write(cache.validBuf, cache.valid);
    this.gpu.write(cache.step, new Uint32Array([start, 0, 0, 0]));
    return plan;
  }

  /** All of the plan's dispatches (and `extra`) in one compute pass. */
  private encode(plan: Plan, extra: Dispatch | null): GPUCommandEncoder {
    const enc = this.gpu.device.createCommandEncoder({ label: "decode step" });
    const pass = enc.beginComputePass();
    for (const d of extra ? [...plan.dispatches, extra] : plan.dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      const [gx, gy] = grid(d.groups);
      pass.dispatchWorkgroups(gx, gy);
    }
    pass.end();
    return enc;
  }

  private stagingBuffer(bytes: number, label: string): GPUBuffer {
    return this.gpu.buffer(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label);
  }

  private readonly choices = new WeakMap<WebGPUKVCache, GPUBuffer>();

  /** Where the argmax writes (id, log p) per row: one per cache. */
  private choiceBuffer(cache: WebGPUKVCache): GPUBuffer {
    let buf = this.choices.get(cache);
    if (!buf) {
      buf = this.gpu.buffer(cache.batch * 8, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, "greedy choice");
      cache.own(buf);
      this.choices.set(cache, buf);
    }
    return buf;
  }

  /** Makes the cache's RoPE tables cover positions 0 … count − 1 (the plans that bind them are rebuilt). */
  private growRope(cache: WebGPUKVCache, count: number): void {
    if (this.layout.positions !== "rope") return;
    if (count <= cache.ropeRows) return;
    const rows = Math.min(this.dims.context, Math.max(count, cache.capacity, cache.ropeRows * 2));
    const t = ropeTables(rows, this.dims.headDim, this.layout.ropeTheta, this.layout.ropeScaling);
    cache.cos?.destroy();
    cache.sin?.destroy();
    cache.cos = this.gpu.upload(t.cos, "RoPE cos");
    cache.sin = this.gpu.upload(t.sin, "RoPE sin");
    cache.own(cache.cos, cache.sin);
    cache.ropeRows = rows;
    cache.plans.clear();
  }

  // --- building a step's dispatches ----------------------------------------------------------

  private uniform(p: Params, label: string, owner: WebGPUKVCache): GPUBuffer {
    const bytes = p.bytes();
    const buf = this.gpu.buffer(bytes.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label);
    this.gpu.device.queue.writeBuffer(buf, 0, bytes);
    owner.own(buf);
    return buf;
  }

  private dispatch(key: string, wgsl: () => string, buffers: GPUBuffer[], groups: number): Dispatch {
    const pipeline = this.gpu.pipeline(key, wgsl);
    const entries = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
    const bindGroup = this.gpu.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: key });
    return { pipeline, bindGroup, groups };
  }

  /** The plan of a (steps, all) shape for this cache, built on first use. */
  private plan(cache: WebGPUKVCache, steps: number, all: boolean): Plan {
    const key = `${steps}|${all}`;
    let plan = cache.plans.get(key);
    if (!plan) {
      const built = this.gpu.allocatingNow(`the kernels and scratch buffers of a ${cache.batch} × ${steps}-token step`, () =>
        new PlanBuilder(this, cache, steps, all).build(),
      );
      plan = built.value;
      cache.allocated.push(built.check);
      cache.plans.set(key, plan);
    }
    return plan;
  }

  /** @internal for PlanBuilder */
  get parts() {
    return {
      gpu: this.gpu,
      w: this.w,
      dummy: this.dummy,
      uniform: this.uniform.bind(this),
      dispatch: this.dispatch.bind(this),
      choiceBuffer: this.choiceBuffer.bind(this),
    };
  }
}

/**
 * Lays out one step: scratch buffers for n = batch × steps rows, then the dispatches in order —
 * embedding; per layer: norm, q/k/v, q/k norms, RoPE, KV store, attention, output projection
 * (+= x), norm, MLP (+= x); final norm; lm head.
 */
class PlanBuilder {
  private readonly p: WebGPUDecoder["parts"];
  private readonly d: DecoderDims;
  private readonly L: BlockLayout;
  private readonly n: number;
  private readonly width: number;
  private readonly qDim: number;
  private readonly kvDim: number;
  private readonly list: Dispatch[] = [];

  constructor(
    model: WebGPUDecoder,
    private readonly cache: WebGPUKVCache,
    private readonly steps: number,
    private readonly all: boolean,
  ) {
    this.p = model.parts;
    this.d = model.dims;
    this.L = model.layout;
    this.n = cache.batch * steps;
    this.qDim = this.d.heads * this.d.headDim;
    this.kvDim = this.d.kvHeads * this.d.headDim;
    this.width = this.qDim + 2 * this.kvDim;
  }

  private scratch(floats: number, label: string, extra = 0): GPUBuffer {
    const buf = this.p.gpu.buffer(floats * 4, GPUBufferUsage.STORAGE | extra, label);
    this.cache.own(buf);
    return buf;
  }

  private params(p: Params, label: string): GPUBuffer {
    return this.p.uniform(p, label, this.cache);
  }

  build(): Plan {
    const { d, n, cache } = this;
    const H = d.hidden,
      I = d.intermediate,
      V = d.vocabSize;
    const io = GPUBufferUsage.COPY_DST;
    const tokens = this.steps === 1 ? cache.nextTokens : this.scratch(n, "token ids", io);
    const positions = this.scratch(n, "positions", io);
    const x = this.scratch(n * H, "hidden states");
    const h = this.scratch(n * H, "normalized states");
    const qkv = this.scratch(n * this.width, "q, k, v");
    const att = this.scratch(n * this.qDim, "attention output");
    const ff1 = this.scratch(n * I, "feed-forward (gate)");
    const ff2 = this.scratch(n * I, "feed-forward (up)");
    const scores = this.scratch(n * d.heads * cache.capacity, "attention scores");
    const headRows = this.all ? n : cache.batch;
    const logits = this.scratch(headRows * V, "logits", GPUBufferUsage.COPY_SRC);

    this.embed(tokens, positions, x);
    for (let l = 0; l < d.layers; l++) {
      const W = this.p.w.layers[l]!;
      this.norm(W.attnNorm, x, h);
      if (W.qkv) this.matvec(W.qkv, h, qkv, { outStride: this.width, outOff: 0 });
      else {
        this.matvec(W.q!, h, qkv, { outStride: this.width, outOff: 0 });
        this.matvec(W.k!, h, qkv, { outStride: this.width, outOff: this.qDim });
        this.matvec(W.v!, h, qkv, { outStride: this.width, outOff: this.qDim + this.kvDim });
      }
      if (W.qNorm && W.kNorm) {
        this.headNorm(W.qNorm, qkv, d.heads, 0);
        this.headNorm(W.kNorm, qkv, d.kvHeads, this.qDim);
      }
      if (this.L.positions === "rope") this.rope(qkv, positions);
      this.kvStore(qkv, l);
      this.attention(qkv, l, scores, att);
      this.matvec(W.out, att, x, { accumulate: true });
      this.norm(W.ffnNorm, x, h);
      if (W.gate) {
        this.matvec(W.gate, h, ff1, {});
        this.matvec(W.up, h, ff2, {});
      } else this.matvec(W.up, h, ff1, {});
      this.activation(ff1, ff2, W.gate !== null);
      this.matvec(W.down, ff1, x, { accumulate: true });
    }
    this.norm(this.p.w.finalNorm, x, h);
    const head: GpuLinear = { w: this.p.w.output, b: null };
    if (this.all) this.matvec(head, h, logits, {});
    else this.matvec(head, h, logits, { rows: cache.batch, inStep: this.steps, inOff: this.steps - 1 });

    const argmaxParams = this.p.gpu.buffer(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, "argmax params");
    cache.own(argmaxParams);
    const argmax = this.p.dispatch("argmax", argmaxWgsl, [logits, this.p.choiceBuffer(cache), cache.nextTokens, argmaxParams], cache.batch);
    return {
      steps: this.steps,
      all: this.all,
      tokens,
      positions,
      logits,
      logitCount: headRows * V,
      dispatches: this.list,
      argmax,
      argmaxParams,
      staging: { logits: [], choice: [] },
    };
  }

  private embed(tokens: GPUBuffer, positions: GPUBuffer, x: GPUBuffer): void {
    const e: GpuMatrix = this.p.w.embed,
      H = this.d.hidden;
    const pos = this.p.w.positions;
    const params = new Params()
      .u32(this.n)
      .u32(H)
      .u32(e.wOff)
      .u32(this.d.vocabSize)
      .u32(pos ? 1 : 0);
    this.list.push(
      this.p.dispatch(
        `embed_${e.format}`,
        embedWgsl(e.format),
        [e.buffer, tokens, positions, pos ?? this.p.dummy, x, this.params(params, "embed params")],
        ceilDiv(this.n * H, EMBED_THREADS),
      ),
    );
  }

  /** out rows (r · outStride + outOff …) = W · (x row r · inStep + inOff) (+ bias), or += with accumulate. */
  private matvec(
    lin: GpuLinear,
    x: GPUBuffer,
    y: GPUBuffer,
    o: { rows?: number; inStep?: number; inOff?: number; outStride?: number; outOff?: number; accumulate?: boolean },
  ): void {
    const w = lin.w;
    const rows = o.rows ?? this.n;
    const params = new Params()
      .u32(rows)
      .u32(w.rows)
      .u32(w.cols)
      .u32(w.wOff)
      .u32(o.inStep ?? 1)
      .u32(o.inOff ?? 0)
      .u32(o.outStride ?? w.rows)
      .u32(o.outOff ?? 0)
      .u32(lin.b ? 1 : 0)
      .u32(o.accumulate ? 1 : 0);
    const bufs = [w.buffer, x, lin.b ?? this.p.dummy, y, this.params(params, "matvec params")];
    this.list.push(this.p.dispatch(`matvec_${w.format}`, matvecWgsl(w.format), bufs, rows * w.rows));
  }

  private norm(norm: GpuNorm, x: GPUBuffer, out: GPUBuffer): void {
    const H = this.d.hidden;
    const params = new Params()
      .u32(this.n)
      .u32(H)
      .u32(1)
      .u32(H)
      .u32(0)
      .f32(this.L.eps)
      .u32(norm.b ? 1 : 0);
    const bufs = [out, norm.w, norm.b ?? this.p.dummy, this.params(params, "norm params"), x];
    this.list.push(this.p.dispatch(`norm_${this.L.norm}`, normWgsl(this.L.norm, false), bufs, this.n));
  }

  /** RMSNorm of each of `heads` head-sized pieces of every qkv row, starting at column `off`, in place. */
  private headNorm(w: GPUBuffer, qkv: GPUBuffer, heads: number, off: number): void {
    const rows = this.n * heads;
    const params = new Params().u32(rows).u32(this.d.headDim).u32(heads).u32(this.width).u32(off).f32(this.L.eps).u32(0);
    const bufs = [qkv, w, this.p.dummy, this.params(params, "head norm params")];
    this.list.push(this.p.dispatch("norm_rms_inplace", normWgsl("rms", true), bufs, rows));
  }

  private rope(qkv: GPUBuffer, positions: GPUBuffer): void {
    const d = this.d;
    const params = new Params().u32(this.n).u32(d.heads).u32(d.kvHeads).u32(d.headDim).u32(this.width);
    const bufs = [qkv, positions, this.cache.cos!, this.cache.sin!, this.params(params, "rope params")];
    this.list.push(this.p.dispatch("rope", ropeWgsl, bufs, ceilDiv((this.n * (d.heads + d.kvHeads) * d.headDim) / 2, ROPE_THREADS)));
  }

  private kvStore(qkv: GPUBuffer, layer: number): void {
    const d = this.d,
      c = this.cache;
    const params = new Params().u32(this.n).u32(this.steps).u32(d.kvHeads).u32(d.headDim).u32(this.width).u32(this.qDim).u32(c.capacity);
    const bufs = [qkv, c.keys[layer]!, c.values[layer]!, this.params(params, "kv store params"), c.step];
    this.list.push(this.p.dispatch("kv_store", kvStoreWgsl, bufs, ceilDiv(this.n * this.kvDim, KV_STORE_THREADS)));
  }

  private attention(qkv: GPUBuffer, layer: number, scores: GPUBuffer, out: GPUBuffer): void {
    const d = this.d,
      c = this.cache;
    const params = new Params()
      .u32(this.steps)
      .u32(d.heads)
      .u32(d.kvHeads)
      .u32(d.headDim)
      .u32(c.capacity)
      .u32(this.width)
      .u32(this.L.slidingWindow ?? 0)
      .f32(1 / Math.sqrt(d.headDim))
      .u32(this.n);
    const bufs = [qkv, c.keys[layer]!, c.values[layer]!, c.validBuf, scores, out, this.params(params, "attention params"), c.step];
    this.list.push(this.p.dispatch("attention", attentionWgsl, bufs, this.n * d.heads));
  }

  private activation(ff1: GPUBuffer, ff2: GPUBuffer, gated: boolean): void {
    const count = this.n * this.d.intermediate;
    const params = new Params().u32(count).u32(gated ? 1 : 0);
    const act = this.L.activation;
    this.list.push(this.p.dispatch(`ffn_${act}`, ffnWgsl(act), [ff1, ff2, this.params(params, "ffn params")], ceilDiv(count, FFN_THREADS)));
  }
}
