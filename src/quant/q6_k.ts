// Q6_K: llama.cpp's 6-bit "k-quant", in super-blocks of 256 values (210 bytes):
//
//   ql[128] | qh[64] | scales[16] (int8) | f16 d
//
// The super-block is 16 sub-blocks of 16 values; sub-block i has a signed 8-bit scale sc_i and
// its values are x ≈ (d·sc_i)·(q − 32) with 6-bit codes q ∈ [0, 63]. Symmetric (no min), like
// Q8_0 / Q4_0, but with 64 levels and a finer scale grid: llama-quantize gives it to the output
// head, the tensor that hurts most when rounded.
// Codes are split into 4 low bits (ql) and 2 high bits (qh). For each half h of 128 values, with
// v = 128·h and 0 ≤ l < 32:
//   ql[64h + l]      = low(v + l)      | low(v + l + 64) << 4
//   ql[64h + l + 32] = low(v + l + 32) | low(v + l + 96) << 4
//   qh[32h + l]      = high(v + l) | high(v + l + 32) << 2 | high(v + l + 64) << 4 | high(v + l + 96) << 6
//
// Quantization follows ggml's quantize_row_q6_K_ref (no importance matrix): per sub-block, a
// scale search (make_qx_quants with 32 levels each side, weights x², 18 candidate grids around
// the plain max / −32 one); the 16 scales are then quantized to int8 against the one of largest
// magnitude (d = that scale / −128), and the codes recomputed with the stored (rounded) scales.
// Every float operation is float32, in ggml's order, so the bytes are the reference's.
import { floatToHalf, halfToFloat } from "../tensor/half.js";
import { f32, nearestInt } from "./rounding.js";
import { Q6_K_D_AT as D_AT, Q6_K_SCALES_AT as SCALES_AT, q6_KCodes, q6_KScale, q6_KSubScale } from "../backend/quant_blocks.js";

export { q6_KCodes, q6_KScale, q6_KSubScale };

export const Q6_K_VALUES = 256;
export const Q6_K_BYTES = 210;
const SUB = 16;
const NMAX = 32;
/** ggml's GROUP_MAX_EPS: groups whose largest magnitude is below it are all-zero. */
const GROUP_MAX_EPS = f32(1e-15);

/** Code of a value for a candidate inverse scale: round(iscale·x) clamped to [−32, 31], plus 32. */
function code(iscale: number, v: number): number {
  return Math.max(-NMAX, Math.min(NMAX - 1, nearestInt(f32(iscale * v)))) + NMAX;
}

/**
 * Best symmetric scale for x (16 values), minimizing Σ x²·(x − scale·(q − 32))² over 19 grids
 * (ggml's make_qx_quants with rmse_type 1). Writes the codes to L and returns the scale, which
 * is negative when the largest-magnitude value is positive (it maps to code 0).
 */
function fitScale(x: Float32Array, L: Uint8Array): number {
  let max = 0,
    amax = 0;
  for (let i = 0; i < x.length; i++) {
    const ax = Math.abs(x[i]!);
    if (ax > amax) {
      amax = ax;
      max = x[i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0);
    return 0;
  }
  // Σ w·x·l and Σ w·l² for the codes of one grid (w = x², l = q − 32), accumulated in order.
  const sums = (iscale: number): [number, number] => {
    let sumlx = 0,
      suml2 = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      const l = code(iscale, v) - NMAX;
      const w = f32(v * v);
      sumlx = f32(sumlx + f32(f32(w * v) * l));
      suml2 = f32(suml2 + f32(f32(w * l) * l));
    }
    return [sumlx, suml2];
  };
  let iscale = f32(-NMAX / max);
  for (let i = 0; i < x.length; i++) L[i] = code(iscale, x[i]!);
  let [sumlx, suml2] = sums(iscale);
  let scale = suml2 !== 0 ? f32(sumlx / suml2) : 0;
  let best = f32(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f32(-f32(NMAX + f32(f32(0.1) * is)) / max);
    [sumlx, suml2] = sums(iscale);
    // The least-squares error of a grid is Σw·x² − sumlx²/suml2: keep the largest sumlx²/suml2.
    if (suml2 > 0 && f32(sumlx * sumlx) > f32(best * suml2)) {
      for (let i = 0; i < x.length; i++) L[i] = code(iscale, x[i]!);
      scale = f32(sumlx / suml2);
      best = f32(scale * sumlx);
    }
  }
  return scale;
}

/** Quantizes x (a multiple of 256 values) into `out` at byte `at`. */
export function quantizeQ6_K(x: Float32Array, out: Uint8Array, at = 0): void {
  const L = new Uint8Array(Q6_K_VALUES);
  const scales = new Float32Array(Q6_K_VALUES / SUB);
  for (let b = 0; b < x.length / Q6_K_VALUES; b++) {
    const xb = x.subarray(b * Q6_K_VALUES, (b + 1) * Q6_K_VALUES);
    const o = at + b * Q6_K_BYTES;
    let maxScale = 0,
      maxAbsScale = 0;
    for (let i = 0; i < scales.length; i++) {
      scales[i] = fitScale(xb.subarray(SUB * i, SUB * (i + 1)), L.subarray(SUB * i, SUB * (i + 1)));
      if (Math.abs(scales[i]!) > maxAbsScale) {
        maxAbsScale = Math.abs(scales[i]!);
        maxScale = scales[i]!;
      }
    }
    out.fill(0, o, o + Q6_K_BYTES);
    if (maxAbsScale < GROUP_MAX_EPS) continue; // an all-zero super-block: every byte 0 (d = +0)
    const iscale = f32(-128 / maxScale);
    const dBits = floatToHalf(f32(1 / iscale));
    out[o + D_AT] = dBits & 0xff;
    out[o + D_AT + 1] = dBits >>> 8;
    for (let i = 0; i < scales.length; i++) out[o + SCALES_AT + i] = Math.min(127, nearestInt(f32(iscale * scales[i]!))) & 0xff;
    const d = halfToFloat(dBits);
    for (let i = 0; i < scales.length; i++) {
      const di = f32(d * ((out[o + SCALES_AT + i]! << 24) >> 24));
      if (di === 0) continue; // keep the codes of the fit
      for (let j = 0; j < SUB; j++) {
        const l = nearestInt(f32(xb[SUB * i + j]! / di));
        L[SUB * i + j] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let h = 0; h < 2; h++) {
      const v = 128 * h,
        ql = o + 64 * h,
        qh = o + 128 + 32 * h;
      for (let l = 0; l < 32; l++) {
        out[ql + l] = (L[v + l]! & 0x0f) | ((L[v + l + 64]! & 0x0f) << 4);
        out[ql + l + 32] = (L[v + l + 32]! & 0x0f) | ((L[v + l + 96]! & 0x0f) << 4);
        out[qh + l] = (L[v + l]! >> 4) | ((L[v + l + 32]! >> 4) << 2) | ((L[v + l + 64]! >> 4) << 4) | ((L[v + l + 96]! >> 4) << 6);
      }
    }
  }
}

/** Dequantizes `out.length` values from Q6_K bytes starting at byte `at`. */
export function dequantizeQ6_K(src: Uint8Array, out: Float32Array, at = 0): void {
  const codes = new Uint8Array(Q6_K_VALUES);
  for (let b = 0; b < out.length / Q6_K_VALUES; b++) {
    const o = at + b * Q6_K_BYTES;
    const d = q6_KScale(src, o);
    q6_KCodes(src, o, codes);
    for (let i = 0; i < Q6_K_VALUES / SUB; i++) {
      const di = f32(d * q6_KSubScale(src, o, i));
      for (let j = 0; j < SUB; j++) out[b * Q6_K_VALUES + SUB * i + j] = f32(di * (codes[SUB * i + j]! - 32));
    }
  }
}
