// The inference forward pass of a decoder-only transformer (Llama or GPT-2), without autograd.
//
// Weights come from a Checkpoint (Hugging Face names, linear weights stored (out, in)). Linear
// and embedding weights stored as F16 / BF16 stay 16-bit in memory by default and are widened
// block by block as they are used (half_matmul.ts); quantized ones (Q8_0, Q4_0, Q4_K read from
// GGUF, Q8_ROW made in memory) stay quantized and go through the integer kernels, with
// embedding rows decoded as they are looked up (quant_linear.ts). `{ dtype: "float32" }`
// converts everything to Float32Array once, here (more memory; for 16-bit weights it is faster
// per token, for quantized ones it is slower, as more bytes stream per token). Every numeric loop that
// matters goes through the backend kernels (matmul with transB computes x · Wᵀ; attention is
// Q · Kᵀ and P · V per key/value head), so the native backend speeds it up. Scratch buffers are
// allocated once per size and reused; keys and values go to a KVCache.
//
// One call of `forward` feeds `steps` new tokens for each of `batch` rows:
//
//   Llama:  x = embed[tok]
//           per layer: x += Wo · attention(rope(Wq·rmsnorm(x)), rope(Wk·rmsnorm(x)), Wv·rmsnorm(x))
//                      x += Wdown · (silu(Wgate·rmsnorm(x)) * Wup·rmsnorm(x))
//           logits = lm_head · rmsnorm(x)
//   GPT-2:  x = wte[tok] + wpe[pos]
//           per layer: x += c_proj · attention(c_attn · layernorm(x));  x += mlp(layernorm(x))  (gelu tanh)
//           logits = wte · layernorm(x)
//
// RoPE follows Hugging Face's convention: the two halves of each head are rotated as pairs
// (i, i + headDim/2) by the angle pos · theta^(-2i/headDim).
import { getBackend } from "../backend/index.js";
import type { Backend } from "../backend/backend.js";
import type { Checkpoint, GPT2Config, LlamaConfig, StoredTensor } from "../formats/types.js";
import { toFloat32 } from "../formats/dtypes.js";
import type { QuantizedTensor } from "../quant/types.js";
import { dequantize } from "../quant/quantize.js";
import { KVCache } from "./kv_cache.js";
import { halfEmbedding, halfLinear, weightBytes, weightStorage, type HalfMatrix, type LinearWeight } from "./half_matmul.js";
import { isQuantizedDType, kernelsAccept, prepareQuantMatrix, quantEmbedding, quantLinear, type QuantMatrix } from "./quant_linear.js";

/** How DecoderModel.fromCheckpoint keeps the weights. */
export interface DecoderOptions {
  /**
   * "auto" (default): F16 / BF16 linear and embedding weights stay 16-bit, widened on the fly,
   * and quantized ones stay quantized (integer kernels);
   * "float32": every weight is converted (or dequantized) to f32 at load.
   */
  dtype?: "auto" | "float32";
}

/** The sizes of a decoder, whatever the architecture. */
export interface DecoderDims {
  arch: "llama" | "gpt2";
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  /** Longest sequence the model was trained for (max_position_embeddings / n_positions). */
  context: number;
  eps: number;
}

interface LlamaLayer {
  attnNorm: Float32Array; wq: LinearWeight; wk: LinearWeight; wv: LinearWeight; wo: LinearWeight;
  mlpNorm: Float32Array; wGate: LinearWeight; wUp: LinearWeight; wDown: LinearWeight;
}

interface GPT2Layer {
  ln1w: Float32Array; ln1b: Float32Array | null; wqkv: LinearWeight; bqkv: Float32Array | null;
  wo: LinearWeight; bo: Float32Array | null; ln2w: Float32Array; ln2b: Float32Array | null;
  wfc: LinearWeight; bfc: Float32Array | null; wproj: LinearWeight; bproj: Float32Array | null;
}

type Weights =
  | { arch: "llama"; embed: LinearWeight; layers: LlamaLayer[]; norm: Float32Array; lmHead: LinearWeight; ropeCos: Float32Array; ropeSin: Float32Array }
  | { arch: "gpt2"; wte: LinearWeight; wpe: Float32Array; layers: GPT2Layer[]; lnfW: Float32Array; lnfB: Float32Array | null; lmHead: LinearWeight };

/** Reads tensors from a checkpoint by name, checking shapes; converts to f32 unless asked to keep 16 bits. */
class WeightReader {
  constructor(private readonly ckpt: Checkpoint, private readonly keepHalf: boolean) {}

  has(name: string): boolean {
    return this.ckpt.tensors.has(name);
  }

  private tensor(name: string, shape: number[]): StoredTensor {
    const t: StoredTensor | undefined = this.ckpt.tensors.get(name);
    if (!t) throw new Error(`${this.ckpt.source.path}: tensor '${name}' is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${this.ckpt.source.path}: tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
    }
    return t;
  }

  /** A small tensor (norm, bias, position table), always as f32. */
  get(name: string, shape: number[]): Float32Array {
    return toFloat32(this.tensor(name, shape));
  }

  /**
   * A (rows, cols) matrix used as x · Wᵀ or looked up by row: kept 16-bit or quantized when
   * stored so (no copy). A quantized matrix whose rows the integer kernels cannot take (a Q8_ROW
   * row length that is not a multiple of 32) is dequantized.
   */
  matrix(name: string, shape: [number, number]): LinearWeight {
    const t = this.tensor(name, shape);
    if (isQuantizedDType(t.dtype)) {
      const q = t as unknown as QuantizedTensor;
      if (!this.keepHalf || !kernelsAccept(shape[1])) return dequantize(q).data as Float32Array;
      const m: QuantMatrix = { dtype: q.dtype, data: q.data, shape: [...shape], rows: shape[0], cols: shape[1] };
      return prepareQuantMatrix(m); // Q4_0 / Q4_K: the 16-row grouped layout, packed once at load
    }
    if (this.keepHalf && (t.dtype === "F16" || t.dtype === "BF16")) {
      const m: HalfMatrix = { dtype: t.dtype, bits: t.data as Uint16Array, rows: shape[0], cols: shape[1] };
      return m;
    }
    return toFloat32(t);
  }

  optional(name: string, shape: number[]): Float32Array | null {
    return this.has(name) ? this.get(name, shape) : null;
  }
}

/** Scratch buffers for a forward pass over n = batch × steps tokens. */
class Scratch {
  constructor(
    readonly n: number,
    dims: DecoderDims,
    readonly x = new Float32Array(n * dims.hidden),
    readonly h = new Float32Array(n * dims.hidden),
    readonly q = new Float32Array(n * dims.heads * dims.headDim),
    readonly k = new Float32Array(n * dims.kvHeads * dims.headDim),
    readonly v = new Float32Array(n * dims.kvHeads * dims.headDim),
    readonly qkv = new Float32Array(dims.arch === "gpt2" ? n * 3 * dims.hidden : 0),
    readonly att = new Float32Array(n * dims.heads * dims.headDim),
    readonly proj = new Float32Array(n * dims.hidden),
    readonly ff1 = new Float32Array(n * dims.intermediate),
    readonly ff2 = new Float32Array(n * dims.intermediate),
    readonly mean = new Float32Array(n),
    readonly rstd = new Float32Array(n),
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
  private readonly w: Weights;
  private scratch: Scratch | null = null;

  private constructor(dims: DecoderDims, weights: Weights) {
    this.dims = dims;
    this.w = weights;
  }

  /**
   * Builds the inference model from a checkpoint. By default F16 / BF16 and quantized linear and
   * embedding weights are shared with the checkpoint, not copied; `{ dtype: "float32" }` expands them.
   */
  static fromCheckpoint(ckpt: Checkpoint, options: DecoderOptions = {}): DecoderModel {
    const cfg = ckpt.config;
    const dtype = options.dtype ?? "auto";
    if (dtype !== "auto" && dtype !== "float32") throw new TypeError(`DecoderModel: dtype must be "auto" or "float32", got ${JSON.stringify(dtype)}`);
    const r = new WeightReader(ckpt, dtype === "auto");
    if (cfg.model_type === "llama") return DecoderModel.llama(ckpt, cfg, r);
    if (cfg.model_type === "gpt2") return DecoderModel.gpt2(ckpt, cfg, r);
    throw new Error(`${ckpt.source.path}: model_type '${(cfg as { model_type: string }).model_type}' is not supported (expected llama or gpt2)`);
  }

  private static llama(ckpt: Checkpoint, c: LlamaConfig, r: WeightReader): DecoderModel {
    const headDim = c.hidden_size / c.num_attention_heads;
    const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
    if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
      throw new Error(`${ckpt.source.path}: hidden_size ${c.hidden_size} / num_attention_heads ${c.num_attention_heads} must be an even integer`);
    }
    if (c.num_attention_heads % kvHeads !== 0) {
      throw new Error(`${ckpt.source.path}: num_attention_heads ${c.num_attention_heads} must be a multiple of num_key_value_heads ${kvHeads}`);
    }
    const dims: DecoderDims = {
      arch: "llama", vocabSize: c.vocab_size, hidden: c.hidden_size, layers: c.num_hidden_layers,
      heads: c.num_attention_heads, kvHeads, headDim, intermediate: c.intermediate_size,
      context: c.max_position_embeddings, eps: c.rms_norm_eps,
    };
    const H = dims.hidden, kvDim = kvHeads * headDim, I = dims.intermediate, V = dims.vocabSize;
    const layers: LlamaLayer[] = [];
    for (let i = 0; i < dims.layers; i++) {
      const p = `model.layers.${i}`;
      layers.push({
        attnNorm: r.get(`${p}.input_layernorm.weight`, [H]),
        wq: r.matrix(`${p}.self_attn.q_proj.weight`, [H, H]),
        wk: r.matrix(`${p}.self_attn.k_proj.weight`, [kvDim, H]),
        wv: r.matrix(`${p}.self_attn.v_proj.weight`, [kvDim, H]),
        wo: r.matrix(`${p}.self_attn.o_proj.weight`, [H, H]),
        mlpNorm: r.get(`${p}.post_attention_layernorm.weight`, [H]),
        wGate: r.matrix(`${p}.mlp.gate_proj.weight`, [I, H]),
        wUp: r.matrix(`${p}.mlp.up_proj.weight`, [I, H]),
        wDown: r.matrix(`${p}.mlp.down_proj.weight`, [H, I]),
      });
    }
    const embed = r.matrix("model.embed_tokens.weight", [V, H]);
    const lmHead = r.has("lm_head.weight") ? r.matrix("lm_head.weight", [V, H]) : embed;
    if (!r.has("lm_head.weight") && c.tie_word_embeddings === false) {
      throw new Error(`${ckpt.source.path}: tensor 'lm_head.weight' is missing (tie_word_embeddings is false)`);
    }
    const { cos, sin } = ropeTables(dims.context, headDim, c.rope_theta ?? 10000);
    return new DecoderModel(dims, { arch: "llama", embed, layers, norm: r.get("model.norm.weight", [H]), lmHead, ropeCos: cos, ropeSin: sin });
  }

  private static gpt2(ckpt: Checkpoint, c: GPT2Config, r: WeightReader): DecoderModel {
    const headDim = c.n_embd / c.n_head;
    if (!Number.isInteger(headDim)) throw new Error(`${ckpt.source.path}: n_embd ${c.n_embd} is not a multiple of n_head ${c.n_head}`);
    const act = c.activation_function ?? "gelu_new";
    if (act !== "gelu_new" && act !== "gelu_pytorch_tanh") {
      throw new Error(`${ckpt.source.path}: activation_function '${act}' is not supported (expected gelu_new)`);
    }
    const dims: DecoderDims = {
      arch: "gpt2", vocabSize: c.vocab_size, hidden: c.n_embd, layers: c.n_layer, heads: c.n_head, kvHeads: c.n_head,
      headDim, intermediate: c.n_inner ?? 4 * c.n_embd, context: c.n_positions, eps: c.layer_norm_epsilon,
    };
    const pre = r.has("transformer.wte.weight") ? "transformer." : "";
    const H = dims.hidden, I = dims.intermediate, V = dims.vocabSize;
    const layers: GPT2Layer[] = [];
    for (let i = 0; i < dims.layers; i++) {
      const p = `${pre}h.${i}`;
      layers.push({
        ln1w: r.get(`${p}.ln_1.weight`, [H]), ln1b: r.optional(`${p}.ln_1.bias`, [H]),
        wqkv: r.matrix(`${p}.attn.c_attn.weight`, [3 * H, H]), bqkv: r.optional(`${p}.attn.c_attn.bias`, [3 * H]),
        wo: r.matrix(`${p}.attn.c_proj.weight`, [H, H]), bo: r.optional(`${p}.attn.c_proj.bias`, [H]),
        ln2w: r.get(`${p}.ln_2.weight`, [H]), ln2b: r.optional(`${p}.ln_2.bias`, [H]),
        wfc: r.matrix(`${p}.mlp.c_fc.weight`, [I, H]), bfc: r.optional(`${p}.mlp.c_fc.bias`, [I]),
        wproj: r.matrix(`${p}.mlp.c_proj.weight`, [H, I]), bproj: r.optional(`${p}.mlp.c_proj.bias`, [H]),
      });
    }
    const wte = r.matrix(`${pre}wte.weight`, [V, H]);
    const lmHead = r.has("lm_head.weight") && c.tie_word_embeddings === false ? r.matrix("lm_head.weight", [V, H]) : wte;
    return new DecoderModel(dims, {
      arch: "gpt2", wte, wpe: r.get(`${pre}wpe.weight`, [dims.context, H]), layers,
      lnfW: r.get(`${pre}ln_f.weight`, [H]), lnfB: r.optional(`${pre}ln_f.bias`, [H]), lmHead,
    });
  }

  /** A cache for `batch` rows of `capacity` positions (see kvCacheEstimate for its size). */
  createCache(batch: number, capacity: number): KVCache {
    if (capacity > this.dims.context) {
      throw new RangeError(`KV cache of ${capacity} positions exceeds the model's context of ${this.dims.context}`);
    }
    const d = this.dims;
    return new KVCache({ layers: d.layers, batch, capacity, kvDim: d.kvHeads * d.headDim, kvHeads: d.kvHeads });
  }

  /** Bytes held by the weights (a tied head counted once). */
  get weightBytes(): number {
    const seen = new Set<unknown>();
    let bytes = 0;
    const add = (w: LinearWeight | null): void => {
      const key = w === null ? null : weightStorage(w);
      if (w === null || seen.has(key)) return;
      seen.add(key);
      bytes += weightBytes(w);
    };
    const w = this.w;
    if (w.arch === "llama") {
      [w.embed, w.norm, w.lmHead, w.ropeCos, w.ropeSin].forEach(add);
      for (const L of w.layers) Object.values(L).forEach(add);
    } else {
      [w.wte, w.wpe, w.lnfW, w.lnfB, w.lmHead].forEach(add);
      for (const L of w.layers) Object.values(L).forEach(add);
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
    const B = cache.batch, n = B * steps, d = this.dims;
    if (tokens.length !== n || positions.length !== n || valid.length !== n) {
      throw new RangeError(`forward: tokens, positions and valid must each hold batch × steps = ${n} values`);
    }
    if (steps > cache.remaining) throw new RangeError(`forward: ${steps} tokens do not fit in the KV cache (${cache.remaining} of ${cache.capacity} positions left)`);
    for (let i = 0; i < n; i++) {
      if (valid[i] && (positions[i]! < 0 || positions[i]! >= d.context)) {
        throw new RangeError(`forward: position ${positions[i]} is outside the model's context [0, ${d.context})`);
      }
    }
    const start = cache.length;
    for (let b = 0; b < B; b++) for (let t = 0; t < steps; t++) cache.valid[b * cache.capacity + start + t] = valid[b * steps + t]!;
    const s = this.scratchFor(n);
    const be = getBackend();
    if (this.w.arch === "llama") this.llamaBody(be, this.w, cache, tokens, positions, steps, s);
    else this.gpt2Body(be, this.w, cache, tokens, positions, steps, s);
    cache.length += steps;
    return this.head(be, s, B, steps, all);
  }

  // --- Llama -----------------------------------------------------------------------------

  private llamaBody(be: Backend, w: Extract<Weights, { arch: "llama" }>, cache: KVCache, tokens: Int32Array, positions: Int32Array, steps: number, s: Scratch): void {
    const d = this.dims, n = tokens.length, H = d.hidden, kvDim = d.kvHeads * d.headDim, I = d.intermediate;
    embedding(be, w.embed, d.vocabSize, H, tokens, s.x.subarray(0, n * H));
    for (let l = 0; l < d.layers; l++) {
      const L = w.layers[l]!;
      be.rmsNorm(s.x, L.attnNorm, n, H, d.eps, s.h.subarray(0, n * H), s.rstd);
      linear(be, s.h, n, H, L.wq, H, s.q, null);
      linear(be, s.h, n, H, L.wk, kvDim, s.k, null);
      linear(be, s.h, n, H, L.wv, kvDim, s.v, null);
      rope(s.q, n, d.heads, d.headDim, positions, w.ropeCos, w.ropeSin);
      rope(s.k, n, d.kvHeads, d.headDim, positions, w.ropeCos, w.ropeSin);
      this.attend(be, cache, l, s.q, s.k, s.v, steps, s.att);
      linear(be, s.att, n, H, L.wo, H, s.proj, null);
      addInPlace(s.x, s.proj, n * H);
      be.rmsNorm(s.x, L.mlpNorm, n, H, d.eps, s.h.subarray(0, n * H), s.rstd);
      linear(be, s.h, n, H, L.wGate, I, s.ff1, null);
      linear(be, s.h, n, H, L.wUp, I, s.ff2, null);
      const gate = s.ff1.subarray(0, n * I);
      be.unary("silu", gate, gate);
      mulInPlace(gate, s.ff2, n * I);
      linear(be, s.ff1, n, I, L.wDown, H, s.proj, null);
      addInPlace(s.x, s.proj, n * H);
    }
    be.rmsNorm(s.x, w.norm, n, H, d.eps, s.h.subarray(0, n * H), s.rstd);
  }

  // --- GPT-2 -----------------------------------------------------------------------------

  private gpt2Body(be: Backend, w: Extract<Weights, { arch: "gpt2" }>, cache: KVCache, tokens: Int32Array, positions: Int32Array, steps: number, s: Scratch): void {
    const d = this.dims, n = tokens.length, H = d.hidden, I = d.intermediate;
    embedding(be, w.wte, d.vocabSize, H, tokens, s.x.subarray(0, n * H));
    for (let i = 0; i < n; i++) {
      const pos = Math.max(0, positions[i]!); // padding rows may carry any position
      for (let c = 0; c < H; c++) s.x[i * H + c] = s.x[i * H + c]! + w.wpe[pos * H + c]!;
    }
    for (let l = 0; l < d.layers; l++) {
      const L = w.layers[l]!;
      be.layerNorm(s.x, L.ln1w, L.ln1b, n, H, d.eps, s.h.subarray(0, n * H), s.mean, s.rstd);
      linear(be, s.h, n, H, L.wqkv, 3 * H, s.qkv, L.bqkv);
      for (let i = 0; i < n; i++) {
        s.q.set(s.qkv.subarray(i * 3 * H, i * 3 * H + H), i * H);
        s.k.set(s.qkv.subarray(i * 3 * H + H, i * 3 * H + 2 * H), i * H);
        s.v.set(s.qkv.subarray(i * 3 * H + 2 * H, i * 3 * H + 3 * H), i * H);
      }
      this.attend(be, cache, l, s.q, s.k, s.v, steps, s.att);
      linear(be, s.att, n, H, L.wo, H, s.proj, L.bo);
      addInPlace(s.x, s.proj, n * H);
      be.layerNorm(s.x, L.ln2w, L.ln2b, n, H, d.eps, s.h.subarray(0, n * H), s.mean, s.rstd);
      linear(be, s.h, n, H, L.wfc, I, s.ff1, L.bfc);
      const act = s.ff1.subarray(0, n * I);
      be.unary("gelu_tanh", act, act);
      linear(be, s.ff1, n, I, L.wproj, H, s.proj, L.bproj);
      addInPlace(s.x, s.proj, n * H);
    }
    be.layerNorm(s.x, w.lnfW, w.lnfB, n, H, d.eps, s.h.subarray(0, n * H), s.mean, s.rstd);
  }

  // --- shared pieces ---------------------------------------------------------------------

  /**
   * Causal attention of the new tokens over every valid cache slot up to their own.
   * Stores k and v into the cache first, then runs the backend's attention kernel (causal +
   * padding mask, grouped-query heads; see AttentionArgs). q, out: (batch × steps, heads ×
   * headDim); k, v: (batch × steps, kvHeads × headDim).
   */
  private attend(be: Backend, cache: KVCache, layer: number, q: Float32Array, k: Float32Array, v: Float32Array, steps: number, out: Float32Array): void {
    const d = this.dims, hd = d.headDim, G = d.kvHeads, kvDim = G * hd, start = cache.length;
    const K = cache.keys[layer]!, V = cache.values[layer]!;
    for (let b = 0; b < cache.batch; b++) {
      for (let t = 0; t < steps; t++) {
        const row = b * steps + t;
        for (let g = 0; g < G; g++) {
          const from = row * kvDim + g * hd, slot = cache.offset(b, g, start + t);
          K.set(k.subarray(from, from + hd), slot);
          V.set(v.subarray(from, from + hd), slot);
        }
      }
    }
    be.attention({
      batch: cache.batch, steps, heads: d.heads, kvHeads: G, headDim: hd,
      q, keys: K, values: V, capacity: cache.capacity, valid: cache.valid, start,
      scale: 1 / Math.sqrt(hd), out,
    });
  }

  /** Logits from the final normalized hidden states in scratch.h. */
  private head(be: Backend, s: Scratch, batch: number, steps: number, all: boolean): Float32Array {
    const H = this.dims.hidden, V = this.dims.vocabSize;
    const lmHead = this.w.lmHead;
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
    if (!this.scratch || this.scratch.n < n) this.scratch = new Scratch(n, this.dims);
    return this.scratch;
  }
}

/** out (rows × outF) = x (rows × inF) · Wᵀ (+ bias), W stored (outF, inF), f32, 16-bit or quantized. */
function linear(be: Backend, x: Float32Array, rows: number, inF: number, w: LinearWeight, outF: number, out: Float32Array, bias: Float32Array | null): void {
  if (w instanceof Float32Array) {
    be.matmul({
      batch: 1, m: rows, n: outF, k: inF,
      a: x, aOffset: 0, aBatchStride: 0, transA: false,
      b: w, bOffset: 0, bBatchStride: 0, transB: true,
      c: out.subarray(0, rows * outF), accumulate: false,
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

/**
 * cos / sin of pos · theta^(-2i/headDim) for every position and pair i, computed in float32
 * steps as PyTorch (and llama2.c) do, so the angles round the same way.
 */
function ropeTables(context: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(context * half);
  const sin = new Float32Array(context * half);
  const f = Math.fround;
  for (let i = 0; i < half; i++) {
    const invFreq = f(1 / f(Math.pow(theta, f((2 * i) / headDim))));
    for (let pos = 0; pos < context; pos++) {
      const angle = f(pos * invFreq);
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Rotates each head of x (rows × heads × headDim) in place: pairs (i, i + headDim/2). */
function rope(x: Float32Array, rows: number, heads: number, headDim: number, positions: Int32Array, cos: Float32Array, sin: Float32Array): void {
  const half = headDim / 2;
  for (let r = 0; r < rows; r++) {
    const pos = Math.max(0, positions[r]!);
    const tab = pos * half;
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[tab + i]!, s = sin[tab + i]!;
        const x1 = x[o + i]!, x2 = x[o + half + i]!;
        x[o + i] = x1 * c - x2 * s;
        x[o + half + i] = x2 * c + x1 * s;
      }
    }
  }
}
