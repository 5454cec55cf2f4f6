// The inference forward pass of a decoder-only transformer, without autograd, for every
// architecture described in src/arch/ (GPT-2, Llama, …): the description's block layout says
// which norm, which projections, which activation and which positions each layer uses; this
// file holds no architecture of its own.
//
// Weights come from a Checkpoint (Hugging Face names, linear weights stored (out, in)), found
// by role through the description. Linear and embedding weights stored as F16 / BF16 stay
// 16-bit in memory by default and are widened block by block as they are used
// (half_matmul.ts); quantized ones (Q8_0, Q4_0, Q4_K read from GGUF, Q8_ROW made in memory) stay
// quantized and go through the integer kernels, with embedding rows decoded as they are looked
// up (quant_linear.ts). `{ dtype: "float32" }` converts everything to Float32Array once, here
// (more memory; for 16-bit weights it is faster per token, for quantized ones it is slower, as
// more bytes stream per token). Every numeric loop that matters goes through the backend
// kernels (matmul with transB computes x · Wᵀ; attention is Q · Kᵀ and P · V per key/value
// head), so the native backend speeds it up. Scratch buffers are allocated once per size and
// reused; keys and values go to a KVCache.
//
// One call of `forward` feeds `steps` new tokens for each of `batch` rows:
//
//   x = token_embd[tok]  (+ position_embd[pos] with learned positions)
//   per layer: n = norm(x);  q, k, v = Wq·n, Wk·n, Wv·n (or one fused Wqkv·n);  rope(q), rope(k) with RoPE
//              x += Wo · attention(q, k, v)                  (over the KV cache, causal + padding mask)
//              n = norm(x);  x += Wdown · act(Wgate·n) ⊙ Wup·n   (gated)   or   x += Wdown · act(Wup·n)
//   logits = output · norm(x)      (output = token_embd when tied)
import { getBackend } from "../backend/index.js";
import type { Backend } from "../backend/backend.js";
import type { Checkpoint, StoredTensor } from "../formats/types.js";
import { toFloat32 } from "../formats/dtypes.js";
import { isQuantDType, type QuantizedTensor } from "../quant/types.js";
import { dequantize } from "../quant/quantize.js";
import {
  architectureOf,
  canonicalName,
  checkTensors,
  hasGlobalRole,
  isIgnoredTensor,
  modulePath,
  parseModelConfig,
  type Architecture,
  type BlockLayout,
  type GlobalRole,
  type LayerRole,
  type ModelConfig,
  type ModelDims,
  type Role,
} from "../arch/index.js";
import { ropeInPlace, ropeTables, checkRope } from "../nn/rope.js";
import { KVCache } from "./kv_cache.js";
import { halfEmbedding, halfLinear, weightBytes, weightStorage, type HalfMatrix, type LinearWeight } from "./half_matmul.js";
import { kernelsAccept, prepareQuantMatrix, quantEmbedding, quantLinear, type QuantMatrix } from "./quant_linear.js";

/** How DecoderModel.fromCheckpoint keeps the weights. */
export interface DecoderOptions {
  /**
   * "auto" (default): F16 / BF16 linear and embedding weights stay 16-bit, widened on the fly,
   * and quantized ones stay quantized (integer kernels);
   * "float32": every weight is converted (or dequantized) to f32 at load.
   */
  dtype?: "auto" | "float32";
}

/** The sizes of a decoder (the architecture's dims, with its family and norm epsilon). */
export interface DecoderDims extends ModelDims {
  /** config.json's model_type ("llama", "gpt2", …). */
  arch: string;
  eps: number;
}

/** A norm's weight and optional bias. */
interface Norm {
  w: Float32Array;
  b: Float32Array | null;
}

/** A linear layer: its weight (f32, 16-bit or quantized) and optional bias. */
interface Proj {
  w: LinearWeight;
  b: Float32Array | null;
}

/** One layer's weights by role; which are present depends on the layout (fused or separate q/k/v, gated MLP). */
interface LayerWeights {
  attnNorm: Norm;
  qkv: Proj | null;
  q: Proj | null;
  k: Proj | null;
  v: Proj | null;
  out: Proj;
  /** RMSNorm weights over each head of q and k (Qwen3), or null. */
  qNorm: Float32Array | null;
  kNorm: Float32Array | null;
  ffnNorm: Norm;
  gate: Proj | null;
  up: Proj;
  down: Proj;
}

interface Weights {
  embed: LinearWeight;
  positions: Float32Array | null;
  layers: LayerWeights[];
  finalNorm: Norm;
  output: LinearWeight;
}

/**
 * Reads a checkpoint's tensors by role. The names and shapes are checked once, against the
 * architecture's description (checkTensors), before anything is read. Converts to f32 unless
 * asked to keep 16-bit and quantized matrices as they are.
 */
class WeightReader {
  private readonly tensors = new Map<string, StoredTensor>();

  constructor(
    ckpt: Checkpoint,
    config: ModelConfig,
    private readonly arch: Architecture,
    private readonly keepHalf: boolean,
  ) {
    for (const [name, t] of ckpt.tensors) {
      if (!isIgnoredTensor(config, name)) this.tensors.set(canonicalName(config, name, ckpt.tensors), t);
    }
    checkTensors(config, new Map([...this.tensors].map(([n, t]) => [n, t.shape])), ckpt.source.path);
  }

  private tensor(role: Role, layer: number | null, kind: "weight" | "bias"): StoredTensor | undefined {
    return this.tensors.get(`${modulePath(this.arch, role, layer)}.${kind}`);
  }

  /**
   * A small tensor (norm weight, bias, position table), always as f32; null when the layout has
   * none. A quantized one is dequantized: GPT-2's position table is a matrix, so quantizing a
   * checkpoint (tsgpt quantize, eval --quantize) quantizes it with the weights, but it is only
   * ever added, row by row, to the embeddings.
   */
  vector(role: Role, layer: number | null, kind: "weight" | "bias" = "weight"): Float32Array | null {
    const t = this.tensor(role, layer, kind);
    if (!t) return null;
    return isQuantDType(t.dtype) ? (dequantize(t as unknown as QuantizedTensor).data as Float32Array) : toFloat32(t);
  }

  norm(role: "attn_norm" | "ffn_norm" | "output_norm", layer: number | null): Norm {
    return { w: this.vector(role, layer)!, b: this.vector(role, layer, "bias") };
  }

  /**
   * A (rows, cols) matrix used as x · Wᵀ or looked up by row: kept 16-bit or quantized when
   * stored so (no copy). A quantized matrix whose rows the integer kernels cannot take (a Q8_ROW
   * row length that is not a multiple of 32) is dequantized.
   */
  matrix(role: Role, layer: number | null): LinearWeight {
    const t = this.tensor(role, layer, "weight")!;
    const [rows, cols] = t.shape as [number, number];
    if (isQuantDType(t.dtype)) {
      const q = t as unknown as QuantizedTensor;
      if (!this.keepHalf || !kernelsAccept(cols)) return dequantize(q).data as Float32Array;
      const m: QuantMatrix = { dtype: q.dtype, data: q.data, shape: [rows, cols], rows, cols };
      return prepareQuantMatrix(m); // Q4_0 / Q4_K: the 16-row grouped layout, packed once at load
    }
    if (this.keepHalf && (t.dtype === "F16" || t.dtype === "BF16")) {
      const m: HalfMatrix = { dtype: t.dtype, bits: t.data as Uint16Array, rows, cols };
      return m;
    }
    return toFloat32(t);
  }

  /** A linear layer of a layer role, or null when this family's layout has no such role. */
  proj(role: LayerRole, layer: number): Proj | null {
    if (this.arch.paths.layer[role] === undefined) return null;
    return { w: this.matrix(role, layer), b: this.vector(role, layer, "bias") };
  }

  layer(i: number): LayerWeights {
    return {
      attnNorm: this.norm("attn_norm", i),
      qkv: this.proj("attn_qkv", i),
      q: this.proj("attn_q", i),
      k: this.proj("attn_k", i),
      v: this.proj("attn_v", i),
      out: this.proj("attn_output", i)!,
      qNorm: this.arch.paths.layer.attn_q_norm ? this.vector("attn_q_norm", i) : null,
      kNorm: this.arch.paths.layer.attn_k_norm ? this.vector("attn_k_norm", i) : null,
      ffnNorm: this.norm("ffn_norm", i),
      gate: this.proj("ffn_gate", i),
      up: this.proj("ffn_up", i)!,
      down: this.proj("ffn_down", i)!,
    };
  }

  has(role: GlobalRole, layout: BlockLayout): boolean {
    return hasGlobalRole(this.arch, layout, role);
  }
}

/** Scratch buffers for a forward pass over n = batch × steps tokens. */
class Scratch {
  constructor(
    readonly n: number,
    dims: DecoderDims,
    fused: boolean,
    readonly x = new Float32Array(n * dims.hidden),
    readonly h = new Float32Array(n * dims.hidden),
    readonly q = new Float32Array(n * dims.heads * dims.headDim),
    readonly k = new Float32Array(n * dims.kvHeads * dims.headDim),
    readonly v = new Float32Array(n * dims.kvHeads * dims.headDim),
    readonly qkv = new Float32Array(fused ? n * (dims.heads + 2 * dims.kvHeads) * dims.headDim : 0),
    readonly att = new Float32Array(n * dims.heads * dims.headDim),
    readonly proj = new Float32Array(n * dims.hidden),
    readonly ff1 = new Float32Array(n * dims.intermediate),
    readonly ff2 = new Float32Array(n * dims.intermediate),
    readonly mean = new Float32Array(n),
    readonly rstd = new Float32Array(n),
    /** RMSNorm over each head of q and k (when the layout has it): normalized rows and their rstd. */
    readonly headNormed = new Float32Array(n * dims.heads * dims.headDim),
    readonly headRstd = new Float32Array(n * dims.heads),
  ) {}
}

/** What the generation loop needs from a model (DecoderModel; tests may script one). */
export interface InferenceModel {
  readonly dims: DecoderDims;
  createCache(batch: number, capacity: number): KVCache;
  forward(cache: KVCache, tokens: Int32Array, positions: Int32Array, valid: Uint8Array, steps: number, all?: boolean): Float32Array;
}

export class DecoderModel implements InferenceModel {
  readonly dims: DecoderDims;
  /** How each block computes (from the architecture's description). */
  readonly layout: BlockLayout;
  private readonly w: Weights;
  private scratch: Scratch | null = null;
  /** RoPE cos / sin for positions 0 … ropeRows − 1, grown to what the caches need. */
  private rope: { cos: Float32Array; sin: Float32Array } = { cos: new Float32Array(0), sin: new Float32Array(0) };
  private ropeRows = 0;

  private constructor(dims: DecoderDims, layout: BlockLayout, weights: Weights) {
    this.dims = dims;
    this.layout = layout;
    this.w = weights;
  }

  /**
   * Builds the inference model from a checkpoint. By default F16 / BF16 and quantized linear and
   * embedding weights are shared with the checkpoint, not copied; `{ dtype: "float32" }` expands them.
   */
  static fromCheckpoint(ckpt: Checkpoint, options: DecoderOptions = {}): DecoderModel {
    const dtype = options.dtype ?? "auto";
    if (dtype !== "auto" && dtype !== "float32")
      throw new TypeError(`DecoderModel: dtype must be "auto" or "float32", got ${JSON.stringify(dtype)}`);
    const config = parseModelConfig({ ...ckpt.config }, ckpt.source.path);
    const arch = architectureOf(config);
    const layout = arch.layout(config);
    if (layout.positions === "rope") checkRope(arch.dims(config).headDim, layout.ropeTheta);
    const dims: DecoderDims = { ...arch.dims(config), arch: config.model_type, eps: layout.eps };
    const r = new WeightReader(ckpt, config, arch, dtype === "auto");
    const layers: LayerWeights[] = [];
    for (let i = 0; i < dims.layers; i++) layers.push(r.layer(i));
    const embed = r.matrix("token_embd", null);
    return new DecoderModel(dims, layout, {
      embed,
      positions: r.has("position_embd", layout) ? r.vector("position_embd", null) : null,
      layers,
      finalNorm: r.norm("output_norm", null),
      output: r.has("output", layout) ? r.matrix("output", null) : embed,
    });
  }

  /** A cache for `batch` rows of `capacity` positions (see kvCacheEstimate for its size). */
  createCache(batch: number, capacity: number): KVCache {
    if (capacity > this.dims.context) {
      throw new RangeError(`KV cache of ${capacity} positions exceeds the model's context of ${this.dims.context}`);
    }
    const d = this.dims;
    this.growRope(capacity);
    return new KVCache({ layers: d.layers, batch, capacity, kvDim: d.kvHeads * d.headDim, kvHeads: d.kvHeads });
  }

  /** Bytes held by the weights (a tied head counted once; the RoPE tables, sized by the caches, are not weights). */
  get weightBytes(): number {
    const seen = new Set<unknown>();
    let bytes = 0;
    const add = (w: LinearWeight | null | undefined): void => {
      if (!w || seen.has(weightStorage(w))) return;
      seen.add(weightStorage(w));
      bytes += weightBytes(w);
    };
    const w = this.w;
    [w.embed, w.positions, w.finalNorm.w, w.finalNorm.b, w.output].forEach(add);
    for (const L of w.layers) {
      for (const n of [L.attnNorm, L.ffnNorm]) [n.w, n.b].forEach(add);
      [L.qNorm, L.kNorm].forEach(add);
      for (const p of [L.qkv, L.q, L.k, L.v, L.out, L.gate, L.up, L.down]) if (p) [p.w, p.b].forEach(add);
    }
    return bytes;
  }

  /**
   * Feeds `steps` tokens per row and returns logits.
   * tokens, positions, valid: (batch, steps) row-major; valid = 0 marks a padding token, which
   * no later token attends to. Positions are each row's own (0 at its first real token).
   * The tokens go into cache slots cache.length … cache.length + steps - 1.
   * Returns (batch, vocab) logits of the last step, or (batch, steps, vocab) when `all` is true.
   */
  forward(cache: KVCache, tokens: Int32Array, positions: Int32Array, valid: Uint8Array, steps: number, all = false): Float32Array {
    const B = cache.batch,
      n = B * steps,
      d = this.dims;
    if (tokens.length !== n || positions.length !== n || valid.length !== n) {
      throw new RangeError(`forward: tokens, positions and valid must each hold batch × steps = ${n} values`);
    }
    if (steps > cache.remaining)
      throw new RangeError(`forward: ${steps} tokens do not fit in the KV cache (${cache.remaining} of ${cache.capacity} positions left)`);
    let top = 0;
    for (let i = 0; i < n; i++) {
      if (valid[i] && (positions[i]! < 0 || positions[i]! >= d.context)) {
        throw new RangeError(`forward: position ${positions[i]} is outside the model's context [0, ${d.context})`);
      }
      top = Math.max(top, positions[i]!);
    }
    this.growRope(top + 1);
    const start = cache.length;
    for (let b = 0; b < B; b++) for (let t = 0; t < steps; t++) cache.valid[b * cache.capacity + start + t] = valid[b * steps + t]!;
    const s = this.scratchFor(n);
    const be = getBackend();
    this.body(be, cache, tokens, positions, steps, s);
    cache.length += steps;
    return this.head(be, s, B, steps, all);
  }

  /**
   * Makes the RoPE tables cover positions 0 … count − 1: sized by what a run uses (its caches),
   * never by the whole context a config may claim.
   */
  private growRope(count: number): void {
    if (this.layout.positions !== "rope" || count <= this.ropeRows) return;
    this.ropeRows = Math.min(this.dims.context, Math.max(count, this.ropeRows * 2));
    this.rope = ropeTables(this.ropeRows, this.dims.headDim, this.layout.ropeTheta, this.layout.ropeScaling);
  }

  /** Embeddings, every block, and the final norm: the normalized hidden states end in s.h. */
  private body(be: Backend, cache: KVCache, tokens: Int32Array, positions: Int32Array, steps: number, s: Scratch): void {
    const d = this.dims,
      w = this.w,
      n = tokens.length,
      H = d.hidden;
    embedding(be, w.embed, d.vocabSize, H, tokens, s.x.subarray(0, n * H));
    if (w.positions) {
      for (let i = 0; i < n; i++) {
        const pos = Math.max(0, positions[i]!); // padding rows may carry any position
        for (let c = 0; c < H; c++) s.x[i * H + c] = s.x[i * H + c]! + w.positions[pos * H + c]!;
      }
    }
    for (let l = 0; l < d.layers; l++) {
      const L = w.layers[l]!;
      this.norm(be, s, n, L.attnNorm);
      this.qkv(be, L, s, n, positions);
      this.attend(be, cache, l, s.q, s.k, s.v, steps, s.att);
      linear(be, s.att, n, d.heads * d.headDim, L.out.w, H, s.proj, L.out.b);
      addInPlace(s.x, s.proj, n * H);
      this.norm(be, s, n, L.ffnNorm);
      this.mlp(be, L, s, n);
      addInPlace(s.x, s.proj, n * H);
    }
    this.norm(be, s, n, w.finalNorm);
  }

  /** s.h = norm(s.x): RMSNorm or LayerNorm, as the layout says. */
  private norm(be: Backend, s: Scratch, n: number, norm: Norm): void {
    const H = this.dims.hidden,
      out = s.h.subarray(0, n * H);
    if (this.layout.norm === "rms") be.rmsNorm(s.x, norm.w, n, H, this.layout.eps, out, s.rstd);
    else be.layerNorm(s.x, norm.w, norm.b, n, H, this.layout.eps, out, s.mean, s.rstd);
  }

  /** q, k, v of the normalized states s.h (one fused projection or three), rotated when the layout uses RoPE. */
  private qkv(be: Backend, L: LayerWeights, s: Scratch, n: number, positions: Int32Array): void {
    const d = this.dims,
      H = d.hidden,
      qDim = d.heads * d.headDim,
      kvDim = d.kvHeads * d.headDim;
    if (L.qkv) {
      const width = qDim + 2 * kvDim;
      linear(be, s.h, n, H, L.qkv.w, width, s.qkv, L.qkv.b);
      for (let i = 0; i < n; i++) {
        const row = i * width;
        s.q.set(s.qkv.subarray(row, row + qDim), i * qDim);
        s.k.set(s.qkv.subarray(row + qDim, row + qDim + kvDim), i * kvDim);
        s.v.set(s.qkv.subarray(row + qDim + kvDim, row + width), i * kvDim);
      }
    } else {
      linear(be, s.h, n, H, L.q!.w, qDim, s.q, L.q!.b);
      linear(be, s.h, n, H, L.k!.w, kvDim, s.k, L.k!.b);
      linear(be, s.h, n, H, L.v!.w, kvDim, s.v, L.v!.b);
    }
    if (L.qNorm && L.kNorm) {
      this.headNorm(be, s, s.q, n * d.heads, L.qNorm);
      this.headNorm(be, s, s.k, n * d.kvHeads, L.kNorm);
    }
    if (this.layout.positions === "rope") {
      ropeInPlace(s.q, n, d.heads, d.headDim, positions, this.rope.cos, this.rope.sin);
      ropeInPlace(s.k, n, d.kvHeads, d.headDim, positions, this.rope.cos, this.rope.sin);
    }
  }

  /** RMSNorm of each head-sized row of x (rows × headDim), in place: Qwen3's q_norm / k_norm. */
  private headNorm(be: Backend, s: Scratch, x: Float32Array, rows: number, w: Float32Array): void {
    const hd = this.dims.headDim,
      out = s.headNormed.subarray(0, rows * hd);
    be.rmsNorm(x, w, rows, hd, this.layout.eps, out, s.headRstd);
    x.set(out);
  }

  /** s.proj = the feed-forward layer of s.h: gated (down(act(gate) ⊙ up)) or plain (down(act(up))). */
  private mlp(be: Backend, L: LayerWeights, s: Scratch, n: number): void {
    const H = this.dims.hidden,
      I = this.dims.intermediate;
    const act = s.ff1.subarray(0, n * I);
    if (L.gate) {
      linear(be, s.h, n, H, L.gate.w, I, s.ff1, L.gate.b);
      linear(be, s.h, n, H, L.up.w, I, s.ff2, L.up.b);
      be.unary(this.layout.activation, act, act);
      mulInPlace(act, s.ff2, n * I);
    } else {
      linear(be, s.h, n, H, L.up.w, I, s.ff1, L.up.b);
      be.unary(this.layout.activation, act, act);
    }
    linear(be, s.ff1, n, I, L.down.w, H, s.proj, L.down.b);
  }

  // --- shared pieces ---------------------------------------------------------------------

  /**
   * Causal attention of the new tokens over every valid cache slot up to their own.
   * Stores k and v into the cache first, then runs the backend's attention kernel (causal +
   * padding mask, grouped-query heads; see AttentionArgs). q, out: (batch × steps, heads ×
   * headDim); k, v: (batch × steps, kvHeads × headDim).
   */
  private attend(
    be: Backend,
    cache: KVCache,
    layer: number,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    steps: number,
    out: Float32Array,
  ): void {
    const d = this.dims,
      hd = d.headDim,
      G = d.kvHeads,
      kvDim = G * hd,
      start = cache.length;
    const K = cache.keys[layer]!,
      V = cache.values[layer]!;
    for (let b = 0; b < cache.batch; b++) {
      for (let t = 0; t < steps; t++) {
        const row = b * steps + t;
        for (let g = 0; g < G; g++) {
          const from = row * kvDim + g * hd,
            slot = cache.offset(b, g, start + t);
          K.set(k.subarray(from, from + hd), slot);
          V.set(v.subarray(from, from + hd), slot);
        }
      }
    }
    be.attention({
      batch: cache.batch,
      steps,
      heads: d.heads,
      kvHeads: G,
      headDim: hd,
      q,
      keys: K,
      values: V,
      capacity: cache.capacity,
      valid: cache.valid,
      start,
      scale: 1 / Math.sqrt(hd),
      out,
      window: this.layout.slidingWindow ?? 0,
    });
  }

  /** Logits from the final normalized hidden states in scratch.h. */
  private head(be: Backend, s: Scratch, batch: number, steps: number, all: boolean): Float32Array {
    const H = this.dims.hidden,
      V = this.dims.vocabSize;
    const lmHead = this.w.output;
    if (all) {
      const logits = new Float32Array(batch * steps * V);
      linear(be, s.h, batch * steps, H, lmHead, V, logits, null);
      return logits;
    }
    // Only each row's last step is needed: gather those hidden states first.
    const last = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) last.set(s.h.subarray((b * steps + steps - 1) * H, (b * steps + steps) * H), b * H);
    const logits = new Float32Array(batch * V);
    linear(be, last, batch, H, lmHead, V, logits, null);
    return logits;
  }

  private scratchFor(n: number): Scratch {
    if (!this.scratch || this.scratch.n < n) this.scratch = new Scratch(n, this.dims, this.layout.qkv === "fused");
    return this.scratch;
  }
}

/** out (rows × outF) = x (rows × inF) · Wᵀ (+ bias), W stored (outF, inF), f32, 16-bit or quantized. */
function linear(
  be: Backend,
  x: Float32Array,
  rows: number,
  inF: number,
  w: LinearWeight,
  outF: number,
  out: Float32Array,
  bias: Float32Array | null,
): void {
  if (w instanceof Float32Array) {
    be.matmul({
      batch: 1,
      m: rows,
      n: outF,
      k: inF,
      a: x,
      aOffset: 0,
      aBatchStride: 0,
      transA: false,
      b: w,
      bOffset: 0,
      bBatchStride: 0,
      transB: true,
      c: out.subarray(0, rows * outF),
      accumulate: false,
    });
  } else if ("bits" in w) {
    halfLinear(be, x, rows, w, out.subarray(0, rows * outF));
  } else {
    quantLinear(x, rows, w, out.subarray(0, rows * outF)); // the backend's quantMatmul
  }
  if (bias) {
    for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) out[r * outF + j] = out[r * outF + j]! + bias[j]!;
  }
}

/** out[i, :] = table[ids[i], :] for a (vocab × dim) table, f32, 16-bit or quantized. */
function embedding(be: Backend, table: LinearWeight, vocab: number, dim: number, ids: Int32Array, out: Float32Array): void {
  if (table instanceof Float32Array) be.embedding(table, vocab, dim, ids, out);
  else if ("bits" in table) halfEmbedding(table, ids, out);
  else quantEmbedding(table, ids, out);
}

function addInPlace(x: Float32Array, y: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) x[i] = x[i]! + y[i]!;
}

function mulInPlace(x: Float32Array, y: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) x[i] = x[i]! * y[i]!;
}
