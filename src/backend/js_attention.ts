// The js backend's attention over a KV cache (see AttentionArgs in backend.ts): the readable
// reference of native/attention.cc.
//
// For each row b, new token t and query head h (reading key/value head g = h / group):
//   scores[s] = scale · q · K[s]     for the slots s ≤ start + t that hold a real token
//                                    (and s > start + t − window with a sliding window)
//   p = softmax(scores)              (masked slots weigh exactly 0, as if skipped)
//   out = Σ_s p[s] · V[s]            (0 when no slot is visible)
import type { AttentionArgs } from "./backend.js";

const isSize = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/** Checks sizes and buffer lengths; the native addon throws the same errors. */
export function checkAttentionArgs(a: AttentionArgs): void {
  const sizes = ["batch", "steps", "heads", "kvHeads", "headDim", "capacity", "start"] as const;
  for (const name of sizes) {
    if (!isSize(a[name])) throw new RangeError(`attention: ${name} must be an integer ≥ 0, got ${a[name]}`);
  }
  if (a.kvHeads === 0 || a.heads % a.kvHeads !== 0) {
    throw new RangeError(`attention: heads (${a.heads}) must be a positive multiple of kvHeads (${a.kvHeads})`);
  }
  if (a.start + a.steps > a.capacity) {
    throw new RangeError(`attention: start + steps (${a.start + a.steps}) exceeds capacity (${a.capacity})`);
  }
  if (!Number.isFinite(a.scale)) throw new RangeError(`attention: scale must be a finite number, got ${a.scale}`);
  const qLen = a.batch * a.steps * a.heads * a.headDim,
    kvLen = a.batch * a.kvHeads * a.capacity * a.headDim;
  const buffers = [
    ["q", a.q, Float32Array, qLen],
    ["keys", a.keys, Float32Array, kvLen],
    ["values", a.values, Float32Array, kvLen],
    ["valid", a.valid, Uint8Array, a.batch * a.capacity],
    ["out", a.out, Float32Array, qLen],
  ] as const;
  for (const [name, buf, type, need] of buffers) {
    if (!(buf instanceof type)) throw new TypeError(`attention: ${name} must be a ${type.name}`);
    if (buf.length < need) throw new RangeError(`attention: ${name} has ${buf.length} elements, needs at least ${need}`);
  }
}

export function attentionJs(a: AttentionArgs): void {
  checkAttentionArgs(a);
  const { batch, steps, heads, kvHeads, headDim: hd, capacity, start, scale, q, keys, values, valid, out } = a;
  const group = heads / kvHeads,
    qDim = heads * hd;
  const p = new Float64Array(start + steps),
    acc = new Float64Array(hd);
  for (let b = 0; b < batch; b++) {
    const vrow = b * capacity;
    for (let t = 0; t < steps; t++) {
      const last = start + t; // the newest slot this token sees
      const first = a.window ? Math.max(0, last - a.window + 1) : 0; // the oldest (sliding window)
      for (let h = 0; h < heads; h++) {
        const qo = (b * steps + t) * qDim + h * hd,
          kv = (b * kvHeads + Math.floor(h / group)) * capacity * hd;
        let max = -Infinity,
          any = false;
        for (let s = first; s <= last; s++) {
          if (!valid[vrow + s]) continue;
          any = true;
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[qo + i]! * keys[kv + s * hd + i]!;
          p[s] = dot * scale;
          if (p[s]! > max) max = p[s]!;
        }
        acc.fill(0);
        if (!any) {
          out.fill(0, qo, qo + hd); // nothing visible: output 0
          continue;
        }
        let sum = 0;
        for (let s = first; s <= last; s++) {
          if (!valid[vrow + s]) continue;
          p[s] = Math.exp(p[s]! - max);
          sum += p[s]!;
        }
        for (let s = first; s <= last; s++) {
          if (!valid[vrow + s]) continue;
          const w = p[s]! / sum;
          for (let i = 0; i < hd; i++) acc[i] = acc[i]! + w * values[kv + s * hd + i]!;
        }
        for (let i = 0; i < hd; i++) out[qo + i] = acc[i]!;
      }
    }
  }
}
