// RoPE's cos / sin tables and the checks on its settings: plain arithmetic with no tensor in
// sight, so that the GPU decoder (which must run in a browser, without the tensor library's
// native addon) builds its tables with the very code the CPU paths use.
/**
 * Llama 3's rescaling of the rotary frequencies (transformers' rope_type "llama3"): wavelengths
 * longer than originalContext / lowFreqFactor are slowed down by `factor`, shorter than
 * originalContext / highFreqFactor are kept, and those between are interpolated smoothly.
 */
export interface RopeScaling {
  type: "llama3";
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContext: number;
}

/**
 * cos / sin of pos · θ^(-2i/hd) for positions 0 … count − 1 and pairs i < hd/2, (count, hd/2)
 * row-major, the frequencies rescaled when the model says so (Llama 3). The angles are rounded to
 * float32 at each step as PyTorch (and llama2.c) compute them, so they agree. The one RoPE table
 * of the project: training and inference both use it.
 */
export function ropeTables(
  count: number,
  headDim: number,
  theta: number,
  scaling: RopeScaling | null = null,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(count * half);
  const sin = new Float32Array(count * half);
  const f = Math.fround;
  for (let i = 0; i < half; i++) {
    let invFreq = f(1 / f(Math.pow(theta, f((2 * i) / headDim))));
    if (scaling) invFreq = llama3Frequency(invFreq, scaling);
    for (let pos = 0; pos < count; pos++) {
      const angle = f(pos * invFreq);
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Llama 3's rescaled frequency (transformers' _compute_llama3_parameters, in float32 steps):
 * long wavelengths are divided by `factor`, short ones kept, the band between interpolated.
 */
export function llama3Frequency(invFreq: number, s: RopeScaling): number {
  const f = Math.fround;
  const lowWavelen = s.originalContext / s.lowFreqFactor,
    highWavelen = s.originalContext / s.highFreqFactor;
  const wavelen = f(f(2 * Math.PI) / invFreq);
  const slowed = wavelen > lowWavelen ? f(invFreq / s.factor) : invFreq;
  if (wavelen < highWavelen || wavelen > lowWavelen) return slowed;
  const smooth = f(f(f(s.originalContext / wavelen) - s.lowFreqFactor) / f(s.highFreqFactor - s.lowFreqFactor));
  return f(f(f(f(1 - smooth) * slowed) / s.factor) + f(smooth * slowed));
}

/** Checks RoPE's parameters once, with the messages both paths give. */
export function checkRope(headDim: number, theta: number): void {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
    throw new RangeError(`RotaryEmbedding: head dim must be a positive even integer, got ${headDim}`);
  }
  if (!(theta > 0) || !Number.isFinite(theta)) throw new RangeError(`RotaryEmbedding: rope_theta must be a positive number, got ${theta}`);
}
