// Rotary position embeddings (RoPE), in Hugging Face's "rotate halves" convention.
//
// Each head vector of length hd is split into two halves; element i of the first half and
// element i of the second half form a pair that is rotated by the angle pos · θ^(-2i/hd):
//
//   x1' = x1·cos − x2·sin        x2' = x2·cos + x1·sin
//
// A rotation is linear, so its gradient is the rotation by the opposite angle. That makes
// RoPE a natural custom autograd op: one pass forward, one pass backward, no temporaries.
// The op also moves the head dim before the time dim — (B, T, H, hd) → (B, H, T, hd) — since
// attention needs that layout next and doing it here saves a copy.
import { Tensor } from "../tensor/index.js";
import { record } from "../tensor/autograd.js";

export class RotaryEmbedding {
  /** cos / sin tables, (maxPositions, hd/2) row-major. Computed once per model. */
  readonly cos: Float32Array;
  readonly sin: Float32Array;

  constructor(readonly headDim: number, readonly maxPositions: number, readonly theta = 10000) {
    if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
      throw new RangeError(`RotaryEmbedding: head dim must be a positive even integer, got ${headDim}`);
    }
    if (!(theta > 0)) throw new RangeError(`RotaryEmbedding: rope_theta must be positive, got ${theta}`);
    const half = headDim / 2;
    this.cos = new Float32Array(maxPositions * half);
    this.sin = new Float32Array(maxPositions * half);
    // Angles are rounded to float32 at each step as PyTorch computes them, so they agree.
    const f = Math.fround;
    for (let i = 0; i < half; i++) {
      const invFreq = f(1 / f(Math.pow(theta, f((2 * i) / headDim))));
      for (let pos = 0; pos < maxPositions; pos++) {
        const angle = f(pos * invFreq);
        this.cos[pos * half + i] = Math.cos(angle);
        this.sin[pos * half + i] = Math.sin(angle);
      }
    }
  }

  /**
   * Rotates x (B, T, H, hd) by `positions` (B·T int32, one per token) and returns the result
   * as (B, H, T, hd), contiguous.
   */
  apply(x: Tensor, positions: Int32Array): Tensor {
    if (x.ndim !== 4 || x.shape[3] !== this.headDim) {
      throw new RangeError(`RotaryEmbedding: expected input (B, T, H, ${this.headDim}), got [${x.shape.join(", ")}]`);
    }
    const [B, T, H, hd] = x.shape as [number, number, number, number];
    if (positions.length !== B * T) throw new RangeError(`RotaryEmbedding: ${positions.length} positions for ${B}×${T} tokens`);
    for (const p of positions) {
      if (p < 0 || p >= this.maxPositions) {
        throw new RangeError(`RotaryEmbedding: position ${p} is outside the model's context [0, ${this.maxPositions})`);
      }
    }
    const src = x.data() as Float32Array;
    const out = new Float32Array(src.length);
    rotate(src, out, B, T, H, hd, positions, this.cos, this.sin, 1, false);
    return record(new Tensor(out, [B, H, T, hd]), "rope", [x], (g) => {
      const gx = new Float32Array(src.length);
      rotate(g.data() as Float32Array, gx, B, T, H, hd, positions, this.cos, this.sin, -1, true);
      return [new Tensor(gx, x.shape)];
    });
  }
}

/**
 * The rotation loop. Forward (back = false): reads (B, T, H, hd), writes (B, H, T, hd).
 * Backward (back = true, sign = -1): reads (B, H, T, hd), writes (B, T, H, hd).
 */
function rotate(
  src: Float32Array, dst: Float32Array, B: number, T: number, H: number, hd: number,
  positions: Int32Array, cos: Float32Array, sin: Float32Array, sign: number, back: boolean,
): void {
  const half = hd / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const tab = positions[b * T + t]! * half;
      for (let h = 0; h < H; h++) {
        const bthd = ((b * T + t) * H + h) * hd; // offset in (B, T, H, hd)
        const bhtd = ((b * H + h) * T + t) * hd; // offset in (B, H, T, hd)
        const i0 = back ? bhtd : bthd;
        const o0 = back ? bthd : bhtd;
        for (let i = 0; i < half; i++) {
          const c = cos[tab + i]!, s = sign * sin[tab + i]!;
          const x1 = src[i0 + i]!, x2 = src[i0 + half + i]!;
          dst[o0 + i] = x1 * c - x2 * s;
          dst[o0 + half + i] = x2 * c + x1 * s;
        }
      }
    }
  }
}
