// Q4_K: llama.cpp's 4-bit "k-quant" with a minimum, in super-blocks of 256 values (144 bytes):
//
//   f16 d | f16 dmin | scales[12] | qs[128]
//
// The super-block is 8 sub-blocks of 32 values. Each sub-block j has a 6-bit scale sc_j and a
// 6-bit min m_j, and its values are x ≈ (d·sc_j)·q − (dmin·m_j) with 4-bit codes q ∈ [0, 15].
// Asymmetric: a sub-block whose values are all positive (or skewed) uses all 16 codes, where
// Q4_0 wastes half of them. The 16 six-bit numbers are packed into 12 bytes:
//   j < 4:  scales[j] low 6 bits = sc_j,  scales[j+4] low 6 bits = m_j
//   j ≥ 4:  scales[j+4] = (sc_j & 15) | (m_j & 15) << 4; the top 2 bits of sc_j go to bits 6–7
//           of scales[j−4], those of m_j to bits 6–7 of scales[j]
// Codes: byte 32·p + l holds value l of sub-block 2p in its low nibble and of 2p+1 in its high one.
//
// Quantization follows ggml's quantize_row_q4_K_ref (no importance matrix): per sub-block, a
// weighted least-squares search for (scale, min) over 21 candidate grids (make_qkx2_quants,
// weights |x| + rms(x)); the 8 scales and 8 mins are then quantized to 6 bits against the
// super-block's largest ones, and the codes recomputed with the stored (rounded) scales.
// Every float operation is float32, in ggml's order, so the bytes are the reference's.
import { floatToHalf, halfToFloat } from "../tensor/half.js";
import { f32, nearestInt } from "./rounding.js";
import { scaleMinK4 } from "../backend/quant_blocks.js";

export { scaleMinK4 };

export const Q4_K_VALUES = 256;
export const Q4_K_BYTES = 144;
const SUB = 32;

/**
 * Best (scale, min) for n values with 4-bit codes: x ≈ scale·L − min. Writes the codes to L and
 * returns [scale, min]. Starts from the plain min/max grid, then tries rmin + rdelta·is extra steps.
 */
function fitScaleMin(
  x: Float32Array,
  w: Float32Array,
  L: Uint8Array,
  nmax: number,
  rmin: number,
  rdelta: number,
  nstep: number,
): [number, number] {
  const n = x.length;
  const Laux = new Uint8Array(n);
  let min = x[0]!,
    max = x[0]!;
  let sumW = w[0]!;
  let sumX = f32(sumW * x[0]!);
  for (let i = 1; i < n; i++) {
    if (x[i]! < min) min = x[i]!;
    if (x[i]! > max) max = x[i]!;
    sumW = f32(sumW + w[i]!);
    sumX = f32(sumX + f32(w[i]! * x[i]!));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0);
    return [0, -min];
  }
  let iscale = f32(nmax / f32(max - min));
  let scale = f32(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = nearestInt(f32(iscale * f32(x[i]! - min)));
    L[i] = Math.max(0, Math.min(nmax, l));
    const diff = f32(f32(f32(scale * L[i]!) + min) - x[i]!);
    bestError = f32(bestError + f32(w[i]! * f32(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = f32(f32(f32(rmin + f32(rdelta * is)) + nmax) / f32(max - min));
    let sumL = 0,
      sumL2 = 0,
      sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f32(iscale * f32(x[i]! - min)))));
      Laux[i] = l;
      const wl = f32(w[i]! * l);
      sumL = f32(sumL + wl);
      sumL2 = f32(sumL2 + f32(wl * l));
      sumXL = f32(sumXL + f32(wl * x[i]!));
    }
    const D = f32(f32(sumW * sumL2) - f32(sumL * sumL));
    if (D > 0) {
      let thisScale = f32(f32(f32(sumW * sumXL) - f32(sumX * sumL)) / D);
      let thisMin = f32(f32(f32(sumL2 * sumX) - f32(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f32(sumXL / sumL2);
      }
      let err = 0;
      for (let i = 0; i < n; i++) {
        const diff = f32(f32(f32(thisScale * Laux[i]!) + thisMin) - x[i]!);
        err = f32(err + f32(w[i]! * f32(diff * diff)));
      }
      if (err < bestError) {
        L.set(Laux);
        bestError = err;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}

/** Quantizes x (a multiple of 256 values) into `out` at byte `at`. */
export function quantizeQ4_K(x: Float32Array, out: Uint8Array, at = 0): void {
  const L = new Uint8Array(Q4_K_VALUES);
  const weights = new Float32Array(SUB);
  const scales = new Float32Array(8),
    mins = new Float32Array(8);
  for (let b = 0; b < x.length / Q4_K_VALUES; b++) {
    const xb = x.subarray(b * Q4_K_VALUES, (b + 1) * Q4_K_VALUES);
    const o = at + b * Q4_K_BYTES;
    let maxScale = 0,
      maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const xs = xb.subarray(SUB * j, SUB * (j + 1));
      let sumX2 = 0;
      for (let l = 0; l < SUB; l++) sumX2 = f32(sumX2 + f32(xs[l]! * xs[l]!));
      const avX = f32(Math.sqrt(f32(sumX2 / SUB)));
      for (let l = 0; l < SUB; l++) weights[l] = f32(avX + Math.abs(xs[l]!));
      const [sc, mn] = fitScaleMin(xs, weights, L.subarray(SUB * j, SUB * (j + 1)), 15, -1, f32(0.1), 20);
      scales[j] = sc;
      mins[j] = mn;
      if (scales[j]! > maxScale) maxScale = scales[j]!;
      if (mins[j]! > maxMin) maxMin = mins[j]!;
    }
    const invScale = maxScale > 0 ? f32(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f32(63 / maxMin) : 0;
    const s = o + 4;
    out.fill(0, s, s + 12);
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, nearestInt(f32(invScale * scales[j]!)) & 0xff);
      const lm = Math.min(63, nearestInt(f32(invMin * mins[j]!)) & 0xff);
      if (j < 4) {
        out[s + j] = ls;
        out[s + j + 4] = lm;
      } else {
        out[s + j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
        out[s + j - 4] |= (ls >> 4) << 6;
        out[s + j] |= (lm >> 4) << 6;
      }
    }
    const dBits = floatToHalf(f32(maxScale / 63));
    const dminBits = floatToHalf(f32(maxMin / 63));
    out[o] = dBits & 0xff;
    out[o + 1] = dBits >>> 8;
    out[o + 2] = dminBits & 0xff;
    out[o + 3] = dminBits >>> 8;
    const d = halfToFloat(dBits),
      dmin = halfToFloat(dminBits);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMinK4(j, out, s);
      const dj = f32(d * sc);
      if (dj === 0) continue; // keep the codes of the fit
      const dm = f32(dmin * m);
      for (let i = 0; i < SUB; i++) {
        L[SUB * j + i] = Math.max(0, Math.min(15, nearestInt(f32(f32(xb[SUB * j + i]! + dm) / dj))));
      }
    }
    const q = o + 16;
    for (let p = 0; p < 4; p++) {
      for (let l = 0; l < 32; l++) out[q + 32 * p + l] = L[64 * p + l]! | (L[64 * p + 32 + l]! << 4);
    }
  }
}

/** Dequantizes `out.length` values from Q4_K bytes starting at byte `at`. */
export function dequantizeQ4_K(src: Uint8Array, out: Float32Array, at = 0): void {
  for (let b = 0; b < out.length / Q4_K_VALUES; b++) {
    const o = at + b * Q4_K_BYTES;
    const d = halfToFloat(src[o]! | (src[o + 1]! << 8));
    const dmin = halfToFloat(src[o + 2]! | (src[o + 3]! << 8));
    for (let p = 0; p < 4; p++) {
      const [sc1, m1] = scaleMinK4(2 * p, src, o + 4);
      const [sc2, m2] = scaleMinK4(2 * p + 1, src, o + 4);
      const d1 = f32(d * sc1),
        min1 = f32(dmin * m1),
        d2 = f32(d * sc2),
        min2 = f32(dmin * m2);
      for (let l = 0; l < 32; l++) {
        const byte = src[o + 16 + 32 * p + l]!;
        out[b * Q4_K_VALUES + 64 * p + l] = f32(d1 * (byte & 0x0f)) - min1;
        out[b * Q4_K_VALUES + 64 * p + 32 + l] = f32(d2 * (byte >> 4)) - min2;
      }
    }
  }
}
