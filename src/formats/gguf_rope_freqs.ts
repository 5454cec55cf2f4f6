// Llama 3's RoPE scaling in GGUF. llama.cpp has no metadata keys for it: its converter stores
// the per-frequency divisors as a tensor, rope_freqs.weight (head_dim / 2 floats), and llama.cpp
// divides each rotary frequency by its entry. Writing computes that tensor from config.json's
// rope_scaling as llama.cpp's converter does; reading recovers rope_scaling from it, taking Llama
// 3's low_freq_factor 1 and high_freq_factor 4 and solving for the factor and the original context,
// then checks that those parameters reproduce every entry (a tensor they do not fit is an error).
import type { StoredTensor } from "./types.js";
import { FormatError } from "../util/errors.js";
import type { Llama3RopeScaling } from "../arch/llama.js";

export const ROPE_FREQS = "rope_freqs.weight";

/** The divisor of each rotary frequency, as llama.cpp's converter computes it (in float64). */
export function ropeFreqFactors(headDim: number, theta: number, s: Llama3RopeScaling): Float32Array {
  const out = new Float32Array(headDim / 2);
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  for (let i = 0; i < out.length; i++) {
    const freq = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = s.factor;
    else {
      const smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

/** rope_scaling recovered from a rope_freqs.weight tensor; errors name the file and the tensor. */
export function ropeScalingFromFactors(path: string, t: StoredTensor, headDim: number, theta: number): Llama3RopeScaling {
  if (t.dtype !== "F32" || t.shape.length !== 1 || t.shape[0] !== headDim / 2) {
    throw new FormatError(
      path,
      ROPE_FREQS,
      `expected ${headDim / 2} F32 values (one per rotary frequency), got ${t.dtype} [${t.shape.join(", ")}]`,
    );
  }
  const factors = t.data as Float32Array;
  const factor = Math.max(...factors);
  const low = 1,
    high = 4; // Llama 3's values, which the tensor cannot tell apart from a rescaled set
  // A frequency between the two bands gives the original context: 1/f = (1 − s)/factor + s,
  // s = (context / wavelen − low) / (high − low).
  let context: number | null = null;
  for (let i = 0; i < factors.length && context === null; i++) {
    const r = factors[i]!;
    if (r <= 1 + 1e-6 || r >= factor - 1e-6) continue;
    const s = (1 / r - 1 / factor) / (1 - 1 / factor);
    const freq = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
    context = Math.round(((2 * Math.PI) / freq) * (s * (high - low) + low));
  }
  if (context === null || !(factor > 1)) {
    throw new FormatError(
      path,
      ROPE_FREQS,
      "holds no frequency between the scaled and unscaled bands, so Llama 3's original context cannot be recovered from it",
    );
  }
  const scaling: Llama3RopeScaling = {
    rope_type: "llama3",
    factor: Number(factor.toPrecision(7)),
    low_freq_factor: low,
    high_freq_factor: high,
    original_max_position_embeddings: context,
  };
  const again = ropeFreqFactors(headDim, theta, scaling);
  for (let i = 0; i < again.length; i++) {
    if (Math.abs(again[i]! - factors[i]!) > 1e-4 * factors[i]!) {
      throw new FormatError(
        path,
        ROPE_FREQS,
        `entry ${i} (${factors[i]}) does not follow Llama 3's rope scaling (factor ${scaling.factor}, original context ${context} give ${again[i]})`,
      );
    }
  }
  return scaling;
}
