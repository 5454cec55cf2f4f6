// The inference forward pass of a decoder-only transformer (Llama or GPT-2), without autograd.
//
// Weights come from a Checkpoint (Hugging Face names, linear weights stored (out, in)) and
// are converted to Float32Array once, here. Every numeric loop that matters goes through the
// backend kernels (matmul with transB computes x · Wᵀ), so the native backend speeds it up.
// Scratch buffers are allocated once per size and reused; keys and values go to a KVCache.
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
import { KVCache } from "./kv_cache.js";

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
  attnNorm: Float32Array; wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array;
  mlpNorm: Float32Array; wGate: Float32Array; wUp: Float32Array; wDown: Float32Array;
}

interface GPT2Layer {
  ln1w: Float32Array; ln1b: Float32Array | null; wqkv: Float32Array; bqkv: Float32Array | null;
  wo: Float32Array; bo: Float32Array | null; ln2w: Float32Array; ln2b: Float32Array | null;
  wfc: Float32Array; bfc: Float32Array | null; wproj: Float32Array; bproj: Float32Array | null;
}

type Weights =
  | { arch: "llama"; embed: Float32Array; layers: LlamaLayer[]; norm: Float32Array; lmHead: Float32Array; ropeCos: Float32Array; ropeSin: Float32Array }
  | { arch: "gpt2"; wte: Float32Array; wpe: Float32Array; layers: GPT2Layer[]; lnfW: Float32Array; lnfB: Float32Array | null; lmHead: Float32Array };

/** Reads tensors from a checkpoint by name, checking shapes, converting to f32. */
class WeightReader {
  constructor(private readonly ckpt: Checkpoint) {}

  has(name: string): boolean {
    return this.ckpt.tensors.has(name);
  }

  get(name: string, shape: number[]): Float32Array {
    const t: StoredTensor | undefined = this.ckpt.tensors.get(name);
    if (!t) throw new Error(`${this.ckpt.source.path}: tensor '${name}' is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${this.ckpt.source.path}: tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
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
  private scores = new Float64Array(0); // attention scores of one query over the cache
  private acc = new Float64Array(0); // one head's attention output, summed in float64

  private constructor(dims: DecoderDims, weights: Weights) {
    this.dims = dims;
    this.w = weights;
  }

  /** Builds the inference model from a checkpoint (weights converted to f32 once). */
  static fromCheckpoint(ckpt: Checkpoint): DecoderModel {
    const cfg = ckpt.config;
    if (cfg.model_type === "llama") return DecoderModel.llama(ckpt, cfg);
    if (cfg.model_type === "gpt2") return DecoderModel.gpt2(ckpt, cfg);
    throw new Error(`${ckpt.source.path}: model_type '${(cfg as { model_type: string }).model_type}' is not supported (expected llama or gpt2)`);
  }

  private static llama(ckpt: Checkpoint, c: LlamaConfig): DecoderModel {
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
    const r = new WeightReader(ckpt);
    const H = dims.hidden, kvDim = kvHeads * headDim, I = dims.intermediate, V = dims.vocabSize;
    const layers: LlamaLayer[] = [];
    for (let i = 0; i < dims.layers; i++) {
      const p = `model.layers.${i}`;
      layers.push({
        attnNorm: r.get(`${p}.input_layernorm.weight`, [H]),
        wq: r.get(`${p}.self_attn.q_proj.weight`, [H, H]),
        wk: r.get(`${p}.self_attn.k_proj.weight`, [kvDim, H]),
        wv: r.get(`${p}.self_attn.v_proj.weight`, [kvDim, H]),
        wo: r.get(`${p}.self_attn.o_proj.weight`, [H, H]),
        mlpNorm: r.get(`${p}.post_attention_layernorm.weight`, [H]),
        wGate: r.get(`${p}.mlp.gate_proj.weight`, [I, H]),
        wUp: r.get(`${p}.mlp.up_proj.weight`, [I, H]),
        wDown: r.get(`${p}.mlp.down_proj.weight`, [H, I]),
      });
    }
    const embed = r.get("model.embed_tokens.weight", [V, H]);
    const lmHead = r.has("lm_head.weight") ? r.get("lm_head.weight", [V, H]) : embed;
    if (!r.has("lm_head.weight") && c.tie_word_embeddings === false) {
      throw new Error(`${ckpt.source.path}: tensor 'lm_head.weight' is missing (tie_word_embeddings is false)`);
    }
    const { cos, sin } = ropeTables(dims.context, headDim, c.rope_theta ?? 10000);
    return new DecoderModel(dims, { arch: "llama", embed, layers, norm: r.get("model.norm.weight", [H]), lmHead, ropeCos: cos, ropeSin: sin });
  }

  private static gpt2(ckpt: Checkpoint, c: GPT2Config): DecoderModel {
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
    const r = new WeightReader(ckpt);
    const pre = r.has("transformer.wte.weight") ? "transformer." : "";
    const H = dims.hidden, I = dims.intermediate, V = dims.vocabSize;
    const layers: GPT2Layer[] = [];
    for (let i = 0; i < dims.layers; i++) {
      const p = `${pre}h.${i}`;
      layers.push({
        ln1w: r.get(`${p}.ln_1.weight`, [H]), ln1b: r.optional(`${p}.ln_1.bias`, [H]),
        wqkv: r.get(`${p}.attn.c_attn.weight`, [3 * H, H]), bqkv: r.optional(`${p}.attn.c_attn.bias`, [3 * H]),
        wo: r.get(`${p}.attn.c_proj.weight`, [H, H]), bo: r.optional(`${p}.attn.c_proj.bias`, [H]),
        ln2w: r.get(`${p}.ln_2.weight`, [H]), ln2b: r.optional(`${p}.ln_2.bias`, [H]),
        wfc: r.get(`${p}.mlp.c_fc.weight`, [I, H]), bfc: r.optional(`${p}.mlp.c_fc.bias`, [I]),
        wproj: r.get(`${p}.mlp.c_proj.weight`, [H, I]), bproj: r.optional(`${p}.mlp.c_proj.bias`, [H]),
      });
    }
    const wte = r.get(`${pre}wte.weight`, [V, H]);
    const lmHead = r.has("lm_head.weight") && c.tie_word_embeddings === false ? r.get("lm_head.weight", [V, H]) : wte;
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
    return new KVCache({ layers: this.dims.layers, batch, capacity, kvDim: this.dims.kvHeads * this.dims.headDim });
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
    be.embedding(w.embed, d.vocabSize, H, tokens, s.x.subarray(0, n * H));
    for (let l = 0; l < d.layers; l++) {
      const L = w.layers[l]!;
      be.rmsNorm(s.x, L.attnNorm, n, H, d.eps, s.h.subarray(0, n * H), s.rstd);
      linear(be, s.h, n, H, L.wq, H, s.q, null);
      linear(be, s.h, n, H, L.wk, kvDim, s.k, null);
      linear(be, s.h, n, H, L.wv, kvDim, s.v, null);
      rope(s.q, n, d.heads, d.headDim, positions, w.ropeCos, w.ropeSin);
      rope(s.k, n, d.kvHeads, d.headDim, positions, w.ropeCos, w.ropeSin);
      this.attend(cache, l, s.q, H, s.k, s.v, kvDim, steps, s.att);
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
    be.embedding(w.wte, d.vocabSize, H, tokens, s.x.subarray(0, n * H));
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
      this.attend(cache, l, s.q, H, s.k, s.v, H, steps, s.att);
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
   * Stores k and v into the cache first. Query head h reads key/value head h / (heads / kvHeads).
   */
  private attend(cache: KVCache, layer: number, q: Float32Array, qDim: number, k: Float32Array, v: Float32Array, kvDim: number, steps: number, out: Float32Array): void {
    const d = this.dims, hd = d.headDim, cap = cache.capacity, start = cache.length;
    const K = cache.keys[layer]!, V = cache.values[layer]!;
    for (let b = 0; b < cache.batch; b++) {
      for (let t = 0; t < steps; t++) {
        const row = b * steps + t;
        const slot = (b * cap + start + t) * kvDim;
        K.set(k.subarray(row * kvDim, (row + 1) * kvDim), slot);
        V.set(v.subarray(row * kvDim, (row + 1) * kvDim), slot);
      }
    }
    if (this.scores.length < cap) this.scores = new Float64Array(cap);
    if (this.acc.length !== hd) this.acc = new Float64Array(hd);
    const scores = this.scores;
    const scale = 1 / Math.sqrt(hd);
    const group = d.heads / d.kvHeads;
    for (let b = 0; b < cache.batch; b++) {
      const validRow = b * cap;
      for (let t = 0; t < steps; t++) {
        const row = b * steps + t;
        const last = start + t; // attend to slots 0 … last
        for (let h = 0; h < d.heads; h++) {
          const qo = row * qDim + h * hd;
          const kvo = Math.floor(h / group) * hd;
          let max = -Infinity;
          for (let j = 0; j <= last; j++) {
            if (!cache.valid[validRow + j]) continue;
            const ko = (validRow + j) * kvDim + kvo;
            let dot = 0;
            for (let i = 0; i < hd; i++) dot += q[qo + i]! * K[ko + i]!;
            const sc = dot * scale;
            scores[j] = sc;
            if (sc > max) max = sc;
          }
          const oo = row * d.heads * hd + h * hd;
          for (let i = 0; i < hd; i++) out[oo + i] = 0;
          if (max === -Infinity) continue; // a padding token with nothing valid before it
          let sum = 0;
          for (let j = 0; j <= last; j++) {
            if (!cache.valid[validRow + j]) continue;
            const e = Math.exp(scores[j]! - max);
            scores[j] = e;
            sum += e;
          }
          const acc = this.acc;
          acc.fill(0);
          for (let j = 0; j <= last; j++) {
            if (!cache.valid[validRow + j]) continue;
            const p = scores[j]! / sum;
            const vo = (validRow + j) * kvDim + kvo;
            for (let i = 0; i < hd; i++) acc[i] = acc[i]! + p * V[vo + i]!;
          }
          for (let i = 0; i < hd; i++) out[oo + i] = acc[i]!;
        }
      }
    }
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

/** out (rows × outF) = x (rows × inF) · Wᵀ (+ bias), W stored (outF, inF). */
function linear(be: Backend, x: Float32Array, rows: number, inF: number, w: Float32Array, outF: number, out: Float32Array, bias: Float32Array | null): void {
  be.matmul({
    batch: 1, m: rows, n: outF, k: inF,
    a: x, aOffset: 0, aBatchStride: 0, transA: false,
    b: w, bOffset: 0, bBatchStride: 0, transB: true,
    c: out.subarray(0, rows * outF), accumulate: false,
  });
  if (bias) {
    for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) out[r * outF + j] = out[r * outF + j]! + bias[j]!;
  }
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
