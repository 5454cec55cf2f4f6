// Q5_0: blocks of 32 values, one f16 scale each, 5-bit codes (llama.cpp's quantize_row_q5_0_ref):
//   max = the value of largest magnitude (with its sign),  d = max / −16,
//   q = min(31, trunc(x / d + 16.5))  (float32, x · (1/d)),  x ≈ d · (q − 16).
// As in Q4_0, dividing by −16 maps the extreme value to code 0 exactly, so the side with the
// largest magnitude gets the 16 negative codes and the other side 15 positive ones. One more bit
// than Q4_0 halves the step: llama-quantize uses it where Q4_K does not fit (rows that 256 does
// not divide).
// Layout (22 bytes): f16 d | 4 bytes qh, a little-endian u32 whose bit j is the high (fifth) bit
// of value j | 16 bytes of low nibbles, byte j = value j (low nibble) and value j + 16 (high).
import { floatToHalf, halfToFloat } from "../tensor/half.js";
import { f32 } from "./rounding.js";
import { q5_0HighBits } from "../backend/quant_blocks.js";

export { q5_0HighBits };

export const Q5_0_VALUES = 32;
export const Q5_0_BYTES = 22;

/** Quantizes x (a multiple of 32 values) into `out` at byte `at`. */
export function quantizeQ5_0(x: Float32Array, out: Uint8Array, at = 0): void {
  const codes = new Uint8Array(Q5_0_VALUES);
  for (let b = 0; b < x.length / Q5_0_VALUES; b++) {
    const x0 = b * Q5_0_VALUES,
      o = at + b * Q5_0_BYTES;
    let amax = 0,
      max = 0;
    for (let j = 0; j < Q5_0_VALUES; j++) {
      const v = x[x0 + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f32(max / -16);
    const id = d !== 0 ? f32(1 / d) : 0;
    const h = floatToHalf(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    // x·id lies in [−16, 16], so x·id + 16.5 is positive and truncation is C's (int8_t) cast.
    for (let j = 0; j < Q5_0_VALUES; j++) codes[j] = Math.min(31, Math.trunc(f32(f32(x[x0 + j]! * id) + 16.5)));
    let qh = 0;
    for (let j = 0; j < Q5_0_VALUES; j++) qh |= (codes[j]! >> 4) << j;
    out[o + 2] = qh & 0xff;
    out[o + 3] = (qh >>> 8) & 0xff;
    out[o + 4] = (qh >>> 16) & 0xff;
    out[o + 5] = qh >>> 24;
    for (let j = 0; j < 16; j++) out[o + 6 + j] = (codes[j]! & 0x0f) | ((codes[j + 16]! & 0x0f) << 4);
  }
}

/** Dequantizes `out.length` values from Q5_0 bytes starting at byte `at`. */
export function dequantizeQ5_0(src: Uint8Array, out: Float32Array, at = 0): void {
  for (let b = 0; b < out.length / Q5_0_VALUES; b++) {
    const o = at + b * Q5_0_BYTES;
    const d = halfToFloat(src[o]! | (src[o + 1]! << 8));
    const qh = q5_0HighBits(src, o);
    for (let j = 0; j < 16; j++) {
      const byte = src[o + 6 + j]!;
      const lo = (byte & 0x0f) | (((qh >>> j) & 1) << 4);
      const hi = (byte >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[b * Q5_0_VALUES + j] = d * (lo - 16);
      out[b * Q5_0_VALUES + j + 16] = d * (hi - 16);
    }
  }
}
