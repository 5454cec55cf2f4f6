// Q4_1: blocks of 32 values, an f16 scale and an f16 minimum each, 4-bit codes (llama.cpp's
// quantize_row_q4_1_ref):
//   min, max of the block,  d = (max − min) / 15,
//   q = min(15, trunc((x − min) · (1/d) + 0.5))  (float32),  x ≈ d · q + m  (m = min in f16).
// Unlike Q4_0 the grid is not centred on zero: its 16 levels span the block's own range, so a
// block whose values are all on one side (or skewed) loses no codes. That costs 2 more bytes
// per block (5 bits per value instead of 4.5).
// Layout (20 bytes): f16 d | f16 m | 16 bytes of nibbles, byte j = value j (low nibble) and
// value j + 16 (high nibble), as in Q4_0.
import { floatToHalf, halfToFloat } from "../tensor/half.js";
import { f32 } from "./rounding.js";

export const Q4_1_VALUES = 32;
export const Q4_1_BYTES = 20;

/** Quantizes x (a multiple of 32 values) into `out` at byte `at`. */
export function quantizeQ4_1(x: Float32Array, out: Uint8Array, at = 0): void {
  for (let b = 0; b < x.length / Q4_1_VALUES; b++) {
    const x0 = b * Q4_1_VALUES,
      o = at + b * Q4_1_BYTES;
    let min = Infinity,
      max = -Infinity; // ggml starts from ±FLT_MAX: the same for finite input
    for (let j = 0; j < Q4_1_VALUES; j++) {
      const v = x[x0 + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = f32(f32(max - min) / 15);
    const id = d !== 0 ? f32(1 / d) : 0;
    const hd = floatToHalf(d),
      hm = floatToHalf(min);
    out[o] = hd & 0xff;
    out[o + 1] = hd >>> 8;
    out[o + 2] = hm & 0xff;
    out[o + 3] = hm >>> 8;
    // (x − min)·id lies in [0, 15 + rounding], so adding 0.5 and truncating is C's (int8_t) cast.
    const code = (v: number): number => Math.min(15, Math.trunc(f32(f32(f32(v - min) * id) + 0.5)));
    for (let j = 0; j < 16; j++) out[o + 4 + j] = code(x[x0 + j]!) | (code(x[x0 + 16 + j]!) << 4);
  }
}

/** Dequantizes `out.length` values from Q4_1 bytes starting at byte `at`. */
export function dequantizeQ4_1(src: Uint8Array, out: Float32Array, at = 0): void {
  for (let b = 0; b < out.length / Q4_1_VALUES; b++) {
    const o = at + b * Q4_1_BYTES;
    const d = halfToFloat(src[o]! | (src[o + 1]! << 8));
    const m = halfToFloat(src[o + 2]! | (src[o + 3]! << 8));
    for (let j = 0; j < 16; j++) {
      const byte = src[o + 4 + j]!;
      // float32 like ggml's x0*d + m (the Float32Array store rounds the sum; the product of an
      // f16 and a 4-bit integer is exact in float32).
      out[b * Q4_1_VALUES + j] = (byte & 0x0f) * d + m;
      out[b * Q4_1_VALUES + j + 16] = (byte >>> 4) * d + m;
    }
  }
}
