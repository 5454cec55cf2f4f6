// The exact rounding rules of the C reference quantizers, in JavaScript numbers.
//
// ggml computes in float32. A JS number is a double, so every float32 operation is written as
// Math.fround(a op b): for +, −, ×, ÷ and sqrt of float32 inputs, rounding the exact double
// result to float32 gives the correctly rounded float32 result (a double has more than twice
// float32's precision), so these match C's float arithmetic bit for bit (without FMA contraction).

export const f32 = Math.fround;

/** C's roundf: round half away from zero. */
export function roundHalfAway(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

const MAGIC = 12582912; // 1.5 · 2^23: adding it leaves the rounded integer in the low mantissa bits

/**
 * ggml's nearest_int: round to nearest, ties to even, by adding 1.5·2^23 in float32 (valid for
 * |v| < 2^22). Also what SIMD rounding (_mm256_round_ps / cvtps) does in the default mode.
 */
export function nearestInt(v: number): number {
  return f32(v + MAGIC) - MAGIC;
}

/** Throws a RangeError when a tensor holds NaN or ±Infinity (no scale can represent them). */
export function checkFinite(x: Float32Array, what: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new RangeError(`${what}: value ${x[i]} at index ${i} cannot be quantized (not finite)`);
  }
}
