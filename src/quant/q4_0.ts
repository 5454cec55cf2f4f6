// Q4_0: blocks of 32 values, one f16 scale each, 4-bit codes (llama.cpp's quantize_row_q4_0_ref):
//   max = the value of largest magnitude (with its sign),  d = max / −8,
//   q = min(15, trunc(x / d + 8.5))  (float32, x · (1/d)),  x ≈ d · (q − 8).
// Dividing by −8 maps the extreme value to code 0 exactly (−8 · d = max), so the side with the
// largest magnitude gets the 8 negative codes and the other side 7 positive ones.
// Nibbles: byte j of the block holds value j (low nibble) and value j + 16 (high nibble).
import { floatToHalf, halfToFloat } from "../tensor/half.js";
import { f32 } from "./rounding.js";

export const Q4_0_VALUES = 32;
export const Q4_0_BYTES = 18;

/** Quantizes x (a multiple of 32 values) into `out` at byte `at`. */
export function quantizeQ4_0(x: Float32Array, out: Uint8Array, at = 0): void {
  for (let b = 0; b < x.length / Q4_0_VALUES; b++) {
    const x0 = b * Q4_0_VALUES,
      o = at + b * Q4_0_BYTES;
    let amax = 0,
      max = 0;
    for (let j = 0; j < Q4_0_VALUES; j++) {
      const v = x[x0 + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f32(max / -8);
    const id = d !== 0 ? f32(1 / d) : 0;
    const h = floatToHalf(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    const code = (v: number): number => Math.min(15, Math.trunc(f32(f32(v * id) + 8.5)));
    for (let j = 0; j < 16; j++) out[o + 2 + j] = code(x[x0 + j]!) | (code(x[x0 + 16 + j]!) << 4);
  }
}

/** Dequantizes `out.length` values from Q4_0 bytes starting at byte `at`. */
export function dequantizeQ4_0(src: Uint8Array, out: Float32Array, at = 0): void {
  for (let b = 0; b < out.length / Q4_0_VALUES; b++) {
    const o = at + b * Q4_0_BYTES;
    const d = halfToFloat(src[o]! | (src[o + 1]! << 8));
    for (let j = 0; j < 16; j++) {
      const byte = src[o + 2 + j]!;
      out[b * Q4_0_VALUES + j] = d * ((byte & 0x0f) - 8);
      out[b * Q4_0_VALUES + j + 16] = d * ((byte >>> 4) - 8);
    }
  }
}
