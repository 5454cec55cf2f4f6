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
import { Tensor, getBackend, matmul } from "../tensor/index.js";
import { record } from "../tensor/autograd.js";
import { checkRope, ropeTables, type RopeScaling } from "./rope_tables.js";

export { checkRope, llama3Frequency, ropeTables, type RopeScaling } from "./rope_tables.js";

/**
 * Rotates each head of x (rows × heads × headDim) in place, row r by the angle of positions[r]
 * (negative positions, which padding rows may carry, count as 0). The inference path's RoPE.
 */
export function ropeInPlace(
  x: Float32Array,
  rows: number,
  heads: number,
  headDim: number,
  positions: Int32Array,
  cos: Float32Array,
  sin: Float32Array,
): void {
  const half = headDim / 2;
  for (let r = 0; r < rows; r++) {
    const tab = Math.max(0, positions[r]!) * half;
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[tab + i]!,
          s = sin[tab + i]!;
        const x1 = x[o + i]!,
          x2 = x[o + half + i]!;
        x[o + i] = x1 * c - x2 * s;
        x[o + half + i] = x2 * c + x1 * s;
      }
    }
  }
}

export class RotaryEmbedding {
  private tables: { cos: Float32Array; sin: Float32Array } = { cos: new Float32Array(0), sin: new Float32Array(0) };
  private rows = 0;

  constructor(
    readonly headDim: number,
    readonly maxPositions: number,
    readonly theta = 10000,
    readonly scaling: RopeScaling | null = null,
  ) {
    checkRope(headDim, theta);
  }

  /**
   * cos / sin tables covering positions 0 … count − 1, (count, hd/2) row-major. Built lazily and
   * grown as longer sequences arrive: a config's context may be far longer than any run uses.
   */
  table(count: number): { cos: Float32Array; sin: Float32Array } {
    if (count > this.rows) {
      this.rows = Math.min(this.maxPositions, Math.max(count, 2 * this.rows, 64));
      this.tables = ropeTables(this.rows, this.headDim, this.theta, this.scaling);
    }
    return this.tables;
  }

  /** The last tables rotateWithKernels used, kept while the positions repeat (every step of a training run). */
  private lastKernelTables: { positions: Int32Array; cos: Float32Array; tables: KernelTables } | null = null;

  /** rotateWithKernels' tables for these positions: the same arrays as last time when nothing changed, so nothing goes up again. */
  private kernelTables(positions: Int32Array, B: number, T: number, cos: Float32Array, sin: Float32Array): KernelTables {
    const last = this.lastKernelTables;
    const same =
      last !== null &&
      last.cos === cos &&
      last.tables.c.shape[0] === B &&
      last.positions.length === positions.length &&
      last.positions.every((p, i) => p === positions[i]);
    if (same) return last.tables;
    const tables = buildKernelTables(positions, B, T, this.headDim, cos, sin);
    this.lastKernelTables = { positions: positions.slice(), cos, tables };
    return tables;
  }

  /** The full tables, (maxPositions, hd/2). */
  get cos(): Float32Array {
    return this.table(this.maxPositions).cos;
  }

  get sin(): Float32Array {
    return this.table(this.maxPositions).sin;
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
    let top = 0;
    for (const p of positions) top = Math.max(top, p);
    const { cos, sin } = this.table(top + 1);
    if (getBackend().name === "webgpu") return rotateWithKernels(x, this.kernelTables(positions, B, T, cos, sin));
    const src = x.data() as Float32Array;
    const out = new Float32Array(src.length);
    rotate(src, out, B, T, H, hd, positions, cos, sin, 1, false);
    return record(new Tensor(out, [B, H, T, hd]), "rope", [x], (g) => {
      const gx = new Float32Array(src.length);
      rotate(g.data() as Float32Array, gx, B, T, H, hd, positions, cos, sin, -1, true);
      return [new Tensor(gx, x.shape)];
    });
  }
}

/** [[0, 1], [1, 0]]: swaps the two halves of a head (a (2, hd/2) view) as a matrix product. */
const SWAP_HALVES = new Tensor(Float32Array.from([0, 1, 1, 0]), [2, 2]);

/**
 * The same rotation as rotate(), as tensor ops that run on the backend, so on a GPU q and k
 * never leave it (the loop above would read them back, and upload the result, every layer):
 * with each head viewed as its two halves (x1, x2),
 *   out = x · [cos, cos] + swap(x) · [−sin, sin],  swap(x) = [x2, x1] = [[0, 1], [1, 0]] · x,
 * which is x1·c − x2·s and x2·c + x1·s, exactly the loop's products and sums (multiplying by 1
 * and adding 0 are exact). Autograd differentiates it; only the small tables go up each call.
 */
function rotateWithKernels(x: Tensor, { c, s }: KernelTables): Tensor {
  const [B, T, H, hd] = x.shape as [number, number, number, number];
  const half = hd / 2;
  const halves = x.reshape([B, T, H, 2, half]);
  const swapped = matmul(SWAP_HALVES, halves);
  const rotated = halves.mul(c).add(swapped.mul(s));
  return rotated.reshape([B, T, H, hd]).transpose(1, 2).contiguous();
}

/** rotateWithKernels' factors per token: c = cos (B, T, 1, 1, hd/2), s = [−sin, sin] (B, T, 1, 2, hd/2). */
interface KernelTables {
  c: Tensor;
  s: Tensor;
}

function buildKernelTables(positions: Int32Array, B: number, T: number, hd: number, cos: Float32Array, sin: Float32Array): KernelTables {
  const half = hd / 2;
  const c = new Float32Array(B * T * half);
  const sn = new Float32Array(B * T * 2 * half);
  for (let bt = 0; bt < B * T; bt++) {
    const tab = positions[bt]! * half;
    for (let i = 0; i < half; i++) {
      c[bt * half + i] = cos[tab + i]!;
      sn[bt * hd + i] = -sin[tab + i]!;
      sn[bt * hd + half + i] = sin[tab + i]!;
    }
  }
  return { c: new Tensor(c, [B, T, 1, 1, half]), s: new Tensor(sn, [B, T, 1, 2, half]) };
}

/**
 * The rotation loop. Forward (back = false): reads (B, T, H, hd), writes (B, H, T, hd).
 * Backward (back = true, sign = -1): reads (B, H, T, hd), writes (B, T, H, hd).
 */
function rotate(
  src: Float32Array,
  dst: Float32Array,
  B: number,
  T: number,
  H: number,
  hd: number,
  positions: Int32Array,
  cos: Float32Array,
  sin: Float32Array,
  sign: number,
  back: boolean,
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
          const c = cos[tab + i]!,
            s = sign * sin[tab + i]!;
          const x1 = src[i0 + i]!,
            x2 = src[i0 + half + i]!;
          dst[o0 + i] = x1 * c - x2 * s;
          dst[o0 + half + i] = x2 * c + x1 * s;
        }
      }
    }
  }
}
