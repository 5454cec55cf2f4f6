// Training attention as plain loops: the readable reference of causalAttention and its
// backward pass (CausalAttentionArgs in backend.ts is the contract; native/causal_attention.cc
// the fast version).
//
// For each row b and query head h, with g = h / (heads / kvHeads) its key/value head:
//
//   S[t, j] = scale · q[b,t,h] · k[b,j,g]          for the keys j that query t sees
//   P[t, :] = softmax(S[t, :])                      (0 for the keys it does not see)
//   out[b,t,h] = Σ_j P[t, j] · v[b,j,g]
//
// Backward, with dO the gradient of out:
//
//   dV[j] += Σ_t P[t, j] · dO[t]
//   dP[t, j] = dO[t] · v[j]
//   dS[t, j] = P[t, j] · (dP[t, j] − Σ_j' P[t, j'] · dP[t, j'])
//   dQ[t] += scale · Σ_j dS[t, j] · k[j]       dK[j] += scale · Σ_t dS[t, j] · q[t]
import type { CausalAttentionArgs, CausalAttentionBackwardArgs } from "./backend.js";

/** Index of element (b, t, h, 0) of a strided (batch, time, heads, headDim) view. */
function at(offset: number, strides: readonly [number, number, number], b: number, t: number, h: number): number {
  return offset + b * strides[0] + t * strides[1] + h * strides[2];
}

/** Whether query t of row b sees key j. */
function sees(a: CausalAttentionArgs, b: number, t: number, j: number): boolean {
  if (j > t) return false;
  if (a.window > 0 && t - j >= a.window) return false;
  return !a.keyValid || a.keyValid[b * a.time + j] === 1;
}

export function causalAttentionJs(a: CausalAttentionArgs, out: Float32Array): void {
  const { batch: B, time: T, heads: H, kvHeads, headDim: D } = a;
  const group = H / kvHeads;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const p = a.probs.subarray(((b * H + h) * T + t) * T, ((b * H + h) * T + t + 1) * T);
        const qi = at(a.qOffset, a.qStrides, b, t, h);
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          if (!sees(a, b, t, j)) continue;
          const ki = at(a.kOffset, a.kStrides, b, j, g);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a.q[qi + d]! * a.k[ki + d]!;
          p[j] = dot * a.scale;
          if (p[j]! > max) max = p[j]!;
        }
        let sum = 0;
        for (let j = 0; j < T; j++) {
          p[j] = sees(a, b, t, j) ? Math.exp(p[j]! - max) : 0;
          sum += p[j]!;
        }
        const oi = (b * T + t) * H * D + h * D;
        for (let d = 0; d < D; d++) out[oi + d] = 0;
        if (sum === 0) continue; // sees no key: zero weights, zero output
        for (let j = 0; j < T; j++) {
          p[j] = p[j]! / sum;
          if (p[j] === 0) continue;
          const vi = at(a.vOffset, a.vStrides, b, j, g);
          for (let d = 0; d < D; d++) out[oi + d] = out[oi + d]! + p[j]! * a.v[vi + d]!;
        }
      }
    }
  }
}

export function causalAttentionBackwardJs(a: CausalAttentionBackwardArgs): void {
  const { batch: B, time: T, heads: H, kvHeads, headDim: D } = a;
  const group = H / kvHeads;
  const dS = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const p = a.probs.subarray(((b * H + h) * T + t) * T, ((b * H + h) * T + t + 1) * T);
        const oi = (b * T + t) * H * D + h * D;
        // dP[j] = dO[t] · v[j]; Σ_j P dP
        let pdp = 0;
        for (let j = 0; j <= t; j++) {
          dS[j] = 0;
          if (p[j] === 0) continue;
          const vi = at(a.vOffset, a.vStrides, b, j, g);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a.gOut[oi + d]! * a.v[vi + d]!;
          dS[j] = dot;
          pdp += p[j]! * dot;
        }
        const qi = at(a.qOffset, a.qStrides, b, t, h);
        for (let j = 0; j <= t; j++) {
          if (p[j] === 0) continue;
          const vi = at(a.vOffset, a.vStrides, b, j, g);
          for (let d = 0; d < D; d++) a.gv[vi + d] = a.gv[vi + d]! + p[j]! * a.gOut[oi + d]!;
          const ds = p[j]! * (dS[j]! - pdp) * a.scale;
          const ki = at(a.kOffset, a.kStrides, b, j, g);
          for (let d = 0; d < D; d++) {
            a.gq[qi + d] = a.gq[qi + d]! + ds * a.k[ki + d]!;
            a.gk[ki + d] = a.gk[ki + d]! + ds * a.q[qi + d]!;
          }
        }
      }
    }
  }
}
