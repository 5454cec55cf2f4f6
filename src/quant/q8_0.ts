// Q8_0: blocks of 32 values, one f16 scale each (llama.cpp's quantize_row_q8_0_ref rule):
//   d = amax / 127,  q = roundf(x / d)  (computed as x · (1/d) in float32),  x ≈ d · q.
// The error of each value is at most d/2 (plus the f16 rounding of d, relative 2^-11).
import { floatToHalf, halfToFloat } from "../tensor/half.js";
import { f32, roundHalfAway } from "./rounding.js";

export const Q8_0_VALUES = 32;
export const Q8_0_BYTES = 34;

/** Quantizes x (a multiple of 32 values) into `out` (x.length / 32 × 34 bytes) at byte `at`. */
export function quantizeQ8_0(x: Float32Array, out: Uint8Array, at = 0): void {
  const view = new DataView(out.buffer, out.byteOffset);
  for (let b = 0; b < x.length / Q8_0_VALUES; b++) {
    const x0 = b * Q8_0_VALUES,
      o = at + b * Q8_0_BYTES;
    let amax = 0;
    for (let j = 0; j < Q8_0_VALUES; j++) amax = Math.max(amax, Math.abs(x[x0 + j]!));
    const d = f32(amax / 127);
    const id = d !== 0 ? f32(1 / d) : 0;
    view.setUint16(o, floatToHalf(d), true);
    for (let j = 0; j < Q8_0_VALUES; j++) view.setInt8(o + 2 + j, roundHalfAway(f32(x[x0 + j]! * id)));
  }
}

/** Dequantizes `out.length` values from Q8_0 bytes starting at byte `at`. */
export function dequantizeQ8_0(src: Uint8Array, out: Float32Array, at = 0): void {
  const view = new DataView(src.buffer, src.byteOffset);
  for (let b = 0; b < out.length / Q8_0_VALUES; b++) {
    const o = at + b * Q8_0_BYTES;
    const d = halfToFloat(view.getUint16(o, true));
    for (let j = 0; j < Q8_0_VALUES; j++) out[b * Q8_0_VALUES + j] = d * view.getInt8(o + 2 + j);
  }
}
