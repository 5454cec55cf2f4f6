// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_): when the L2 norm of all
// gradients together exceeds maxNorm, every gradient is scaled by maxNorm / (norm + 1e-6).
import type { Tensor } from "../tensor/index.js";

/** The global L2 norm of the parameters' gradients (parameters without a gradient count as zero). */
export function gradNorm(params: readonly Tensor[]): number {
  let sumSq = 0;
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    const d = g.data() as Float32Array;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i]! * d[i]!;
    sumSq += s;
  }
  return Math.sqrt(sumSq);
}

/** Clips in place; returns the norm before clipping (like PyTorch). maxNorm ≤ 0 only measures. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  const norm = gradNorm(params);
  if (maxNorm > 0 && Number.isFinite(norm) && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (const p of params) {
      const g = p.grad;
      if (!g) continue;
      const d = g.data() as Float32Array; // grads are contiguous: data() is a view that writes through
      for (let i = 0; i < d.length; i++) d[i] = d[i]! * scale;
    }
  }
  return norm;
}
