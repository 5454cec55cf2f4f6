// Causal self-attention with padding masks, position ids, grouped-query attention and RoPE.
//
//   att = softmax(q kᵀ / √hd  masked so that query t sees key j only when j ≤ t and j is not a pad)
//   y   = att v
//
// Masks. The causal rule (j ≤ t) and the padding mask (B, T) of 1 = token, 0 = pad are
// applied together inside one fused op, `maskedCausalSoftmax`, which only visits the allowed
// keys: no (T, T) mask tensor is built, and the masked half of the softmax costs nothing. A
// query that may see no key at all (a pad at the start of a left-padded row) gets all-zero
// weights instead of the NaN a plain softmax of −∞ would give.
//
// Positions. With a padding mask and no explicit position ids, each token's position is the
// number of real tokens before it — cumsum(mask) − 1, clamped at 0 — as Hugging Face computes
// them for generation, so a left-padded sequence sees the same positions as on its own.
//
// Grouped-query attention (num_key_value_heads < num_attention_heads): the `group` query heads
// that share one key/value head are stacked along the rows, q (B, nKV, group·T, hd), so one
// batched matmul serves them all and k, v are never repeated in memory.
import { Tensor, getBackend } from "../tensor/index.js";
import type { CausalAttentionArgs } from "../backend/backend.js";
import { deviceArray } from "../backend/device_arrays.js";
import { record } from "../tensor/autograd.js";
import type { InitOptions } from "./init.js";
import { Linear } from "./linear.js";
import { Module } from "./module.js";
import type { RotaryEmbedding } from "./rope.js";

/** Per-forward facts every attention layer needs, computed once from the model's inputs. */
export interface AttentionContext {
  batch: number;
  time: number;
  /** (B·T) 1 = real token, 0 = pad; null when nothing is padded. */
  keyValid: Uint8Array | null;
  /** (B·T) position of each token. */
  positions: Int32Array;
  /** Sliding window (Mistral): a query at time i sees keys i − window < j ≤ i; null or absent for none. */
  window?: number | null;
}

/**
 * Builds the AttentionContext for input ids of shape (B, T) from an optional attention mask
 * (B, T) of 1/0 (int32, bool or float) and optional position ids (B, T) or (T).
 */
export function attentionContext(
  batch: number,
  time: number,
  attentionMask?: Tensor | null,
  positionIds?: Tensor | null,
): AttentionContext {
  let keyValid: Uint8Array | null = null;
  if (attentionMask) {
    if (attentionMask.ndim !== 2 || attentionMask.shape[0] !== batch || attentionMask.shape[1] !== time) {
      throw new RangeError(
        `attention: attentionMask must have shape [${batch}, ${time}] like the input ids, got [${attentionMask.shape.join(", ")}]`,
      );
    }
    const m = attentionMask.data();
    keyValid = new Uint8Array(batch * time);
    let padded = false;
    for (let i = 0; i < m.length; i++) {
      keyValid[i] = m[i] !== 0 ? 1 : 0;
      if (!keyValid[i]) padded = true;
    }
    if (!padded) keyValid = null;
  }
  return { batch, time, keyValid, positions: positionsOf(batch, time, keyValid, positionIds) };
}

function positionsOf(batch: number, time: number, keyValid: Uint8Array | null, positionIds?: Tensor | null): Int32Array {
  const positions = new Int32Array(batch * time);
  if (positionIds) {
    const ok =
      (positionIds.ndim === 2 && positionIds.shape[0] === batch && positionIds.shape[1] === time) ||
      (positionIds.ndim === 1 && positionIds.shape[0] === time);
    if (!ok)
      throw new RangeError(
        `attention: positionIds must have shape [${batch}, ${time}] or [${time}], got [${positionIds.shape.join(", ")}]`,
      );
    if (positionIds.dtype !== "int32") throw new TypeError(`attention: positionIds must be int32, got ${positionIds.dtype}`);
    const p = positionIds.data();
    for (let i = 0; i < positions.length; i++) positions[i] = p[positionIds.ndim === 1 ? i % time : i]!;
    return positions;
  }
  for (let b = 0; b < batch; b++) {
    let seen = 0; // real tokens so far in this row
    for (let t = 0; t < time; t++) {
      const i = b * time + t;
      if (!keyValid) positions[i] = t;
      else {
        seen += keyValid[i]!;
        positions[i] = Math.max(seen - 1, 0);
      }
    }
  }
  return positions;
}

/**
 * softmax(scale · scores) over the keys each query may see, as one autograd op.
 * scores: (B, G, R, T) contiguous, where row r is the query at time r mod T (R = group·T).
 * Masked entries are exactly 0 in the output and receive no gradient. The exponentials run in
 * the backend's row-wise softmax kernel (masked entries enter as −∞); this function only builds
 * its input and zeroes the rows that see no key at all.
 */
export function maskedCausalSoftmax(scores: Tensor, scale: number, ctx: AttentionContext): Tensor {
  const [B, G, R, T] = scores.shape as [number, number, number, number];
  if (scores.ndim !== 4 || B !== ctx.batch || T !== ctx.time || R % T !== 0) {
    throw new RangeError(`maskedCausalSoftmax: scores [${scores.shape.join(", ")}] do not fit batch ${ctx.batch} × time ${ctx.time}`);
  }
  const s = scores.data() as Float32Array;
  const rows = B * G * R;
  const z = new Float32Array(s.length); // scale · scores, −∞ where masked
  const blind: number[] = []; // rows that see no key (a leading pad): their weights stay 0
  const valid = ctx.keyValid;
  for (let row = 0; row < rows; row++) {
    const o = row * T;
    const vOff = Math.floor(row / (G * R)) * T; // this row's batch item in keyValid
    const last = (row % R) % T; // keys 0 … last are causally visible
    const first = ctx.window ? last - ctx.window + 1 : 0; // … from `first` on, with a sliding window
    let seen = false;
    for (let j = 0; j < T; j++) {
      const visible = j <= last && j >= first && (!valid || valid[vOff + j] === 1);
      z[o + j] = visible ? s[o + j]! * scale : -Infinity;
      seen ||= visible;
    }
    if (!seen) blind.push(row);
  }
  const y = new Float32Array(s.length);
  const backend = getBackend();
  backend.softmax(z, rows, T, y, false);
  for (const row of blind) y.fill(0, row * T, (row + 1) * T);
  return record(new Tensor(y, scores.shape), "maskedCausalSoftmax", [scores], (g) => {
    // d scores = scale · y ⊙ (g − Σ_j g_j y_j): zero where y is zero (masked keys, blind rows).
    const gs = new Float32Array(y.length);
    backend.softmaxBackward(y, g.data() as Float32Array, rows, T, gs, false);
    for (let i = 0; i < gs.length; i++) gs[i] = gs[i]! * scale;
    return [new Tensor(gs, scores.shape)];
  });
}

/**
 * Attention of q (B, nH, T, hd) over k, v (B, nKV, T, hd), nKV dividing nH.
 * Returns (B, T, nH·hd): the heads concatenated per token, ready for the output projection.
 * One backend kernel does the scores, the masks, the softmax and the sum of values, forward and
 * backward (Backend.causalAttention); maskedCausalSoftmax above is the same softmax as a
 * separate op.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
  const [B, nH, T] = q.shape as [number, number, number, number];
  const nKV = k.shape[1]!;
  if (nH % nKV !== 0) throw new RangeError(`attention: ${nKV} key/value heads do not divide ${nH} query heads`);
  if (B !== ctx.batch || T !== ctx.time) {
    throw new RangeError(`attention: q [${q.shape.join(", ")}] does not fit batch ${ctx.batch} × time ${ctx.time}`);
  }
  return causalAttentionOp([q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)].map(denseHeads), null, ctx);
}

/**
 * Attention reading its heads straight from a packed projection qkv (B, T, (nH + 2·nKV)·hd),
 * each token's row holding q's heads, then k's, then v's (GPT-2's c_attn): no head is copied
 * out, and the gradient comes back as one (B, T, (nH + 2·nKV)·hd) tensor. Returns (B, T, nH·hd).
 */
export function packedCausalAttention(qkv: Tensor, heads: number, kvHeads: number, ctx: AttentionContext): Tensor {
  const [B, T, W] = qkv.shape as [number, number, number];
  const hd = W / (heads + 2 * kvHeads);
  if (qkv.ndim !== 3 || !Number.isInteger(hd) || B !== ctx.batch || T !== ctx.time || heads % kvHeads !== 0) {
    throw new RangeError(
      `attention: packed q|k|v [${qkv.shape.join(", ")}] does not hold ${heads} + 2 × ${kvHeads} heads for batch ${ctx.batch} × time ${ctx.time}`,
    );
  }
  return causalAttentionOp([qkv.contiguous()], { heads, kvHeads, headDim: hd }, ctx);
}

/** A (B, T, heads, hd) view whose elements fill one block of memory (any order, hd innermost); copies otherwise. */
function denseHeads(t: Tensor): Tensor {
  if (t.dtype !== "float32") throw new TypeError(`attention: expected float32 q, k, v, got ${t.dtype}`);
  if (t.shape[3]! > 1 && t.strides[3] !== 1) return t.contiguous();
  const dims = t.shape.map((n, i) => ({ n, s: t.strides[i]! })).filter((d) => d.n > 1);
  dims.sort((a, b) => b.s - a.s);
  let expected = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    if (dims[i]!.s !== expected) return t.contiguous();
    expected *= dims[i]!.n;
  }
  return t;
}

/** The elements of a tensor from its offset on (the kernel reads at offset 0 with the tensor's strides). */
function fromOffset(t: Tensor): Float32Array {
  const s = t.deviceStorage as Float32Array; // for the kernel only
  return t.offset === 0 ? s : s.subarray(t.offset);
}

const headStrides = (t: Tensor) => [t.strides[0]!, t.strides[1]!, t.strides[2]!] as [number, number, number];

/**
 * The autograd op around Backend.causalAttention. inputs: [q, k, v] as dense (B, T, heads, hd)
 * views (packed null), or [qkv] (packed gives the head counts). Each input's gradient has the
 * input's own strides in a fresh buffer, so the kernel writes it in place with no copy.
 */
function causalAttentionOp(
  inputs: Tensor[],
  packed: { heads: number; kvHeads: number; headDim: number } | null,
  ctx: AttentionContext,
): Tensor {
  const B = ctx.batch,
    T = ctx.time;
  let args: CausalAttentionArgs;
  if (packed) {
    const { heads: H, kvHeads: G, headDim: D } = packed;
    const buf = inputs[0]!.deviceData() as Float32Array;
    const W = (H + 2 * G) * D;
    const strides = [T * W, W, D] as [number, number, number];
    args = {
      ...{ batch: B, time: T, heads: H, kvHeads: G, headDim: D },
      ...{
        q: buf,
        qOffset: 0,
        qStrides: strides,
        k: buf,
        kOffset: H * D,
        kStrides: strides,
        v: buf,
        vOffset: (H + G) * D,
        vStrides: strides,
      },
      ...{ keyValid: ctx.keyValid, window: ctx.window ?? 0, scale: 1 / Math.sqrt(D), probs: deviceArray(B * H * T * T) },
    };
  } else {
    const [q, k, v] = inputs as [Tensor, Tensor, Tensor];
    const H = q.shape[2]!,
      D = q.shape[3]!;
    args = {
      ...{ batch: B, time: T, heads: H, kvHeads: k.shape[2]!, headDim: D },
      ...{ q: fromOffset(q), qOffset: 0, qStrides: headStrides(q), k: fromOffset(k), kOffset: 0, kStrides: headStrides(k) },
      ...{ v: fromOffset(v), vOffset: 0, vStrides: headStrides(v) },
      ...{ keyValid: ctx.keyValid, window: ctx.window ?? 0, scale: 1 / Math.sqrt(D), probs: deviceArray(B * H * T * T) },
    };
  }
  const backend = getBackend();
  const out = deviceArray(B * T * args.heads * args.headDim);
  backend.causalAttention(args, out);
  return record(new Tensor(out, [B, T, args.heads * args.headDim]), "causalAttention", inputs, (g) => {
    const grads = inputs.map((x) => deviceArray(x.numel));
    const [gq, gk, gv] = packed ? [grads[0]!, grads[0]!, grads[0]!] : (grads as [Float32Array, Float32Array, Float32Array]);
    backend.causalAttentionBackward({ ...args, gOut: g.deviceData() as Float32Array, gq, gk, gv });
    return inputs.map((x, i) => new Tensor(grads[i]!, x.shape, packed ? undefined : x.strides));
  });
}

export interface SelfAttentionOptions extends InitOptions {
  hidden: number;
  heads: number;
  /** Key/value heads (grouped-query attention); default `heads`. */
  kvHeads?: number;
  /** Biases on the q/k/v/o projections (default false, as in Llama). */
  bias?: boolean;
  /** Rotary embeddings applied to q and k (shared by every layer of a model). */
  rope?: RotaryEmbedding | null;
  /** Init std of o_proj, the projection into the residual stream (default `std`). */
  outStd?: number;
}

/** Llama-style attention: separate q_proj, k_proj, v_proj, o_proj (HF names). */
export class SelfAttention extends Module {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;
  private readonly rope: RotaryEmbedding | null;

  constructor(opts: SelfAttentionOptions) {
    super();
    const { hidden, heads } = opts;
    const kvHeads = opts.kvHeads ?? heads;
    if (hidden % heads !== 0) throw new RangeError(`SelfAttention: hidden size ${hidden} is not divisible by ${heads} heads`);
    if (heads % kvHeads !== 0) throw new RangeError(`SelfAttention: ${kvHeads} key/value heads do not divide ${heads} heads`);
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.headDim = hidden / heads;
    this.rope = opts.rope ?? null;
    const lin = { bias: opts.bias ?? false, generator: opts.generator, std: opts.std };
    const kvDim = kvHeads * this.headDim;
    this.q_proj = this.registerModule("q_proj", new Linear(hidden, hidden, lin));
    this.k_proj = this.registerModule("k_proj", new Linear(hidden, kvDim, lin));
    this.v_proj = this.registerModule("v_proj", new Linear(hidden, kvDim, lin));
    this.o_proj = this.registerModule("o_proj", new Linear(hidden, hidden, { ...lin, std: opts.outStd ?? opts.std }));
  }

  /** x (B, T, C) → (B, T, C). */
  forward(x: Tensor, ctx: AttentionContext): Tensor {
    const [B, T] = x.shape as [number, number];
    const hd = this.headDim;
    const q = this.q_proj.forward(x).view(B, T, this.heads, hd); // (B, T, nH, hd)
    const k = this.k_proj.forward(x).view(B, T, this.kvHeads, hd); // (B, T, nKV, hd)
    const v = this.v_proj.forward(x).view(B, T, this.kvHeads, hd).transpose(1, 2); // (B, nKV, T, hd), read in place
    const qh = this.rope ? this.rope.apply(q, ctx.positions) : q.transpose(1, 2); // (B, nH, T, hd)
    const kh = this.rope ? this.rope.apply(k, ctx.positions) : k.transpose(1, 2); // (B, nKV, T, hd)
    const y = scaledDotProductAttention(qh, kh, v, ctx); // (B, T, C)
    return this.o_proj.forward(y);
  }
}
