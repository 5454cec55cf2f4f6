// The quantized dtypes as the kernels see them: block sizes, row sizes, and readers of the
// packed fields of a block (the layouts are described in src/quant/types.ts, q4_k.ts and
// q6_k.ts). The quantizers (src/quant/) and the kernels (js_quant.ts, native/quant.cc) share
// these, so each fact about a format is written once.
import { halfToFloat } from "./half_bits.js";

export type QuantDType = "Q8_0" | "Q6_K" | "Q5_0" | "Q4_1" | "Q4_0" | "Q4_K" | "Q8_ROW";

export const QUANT_DTYPES: readonly QuantDType[] = ["Q8_0", "Q6_K", "Q5_0", "Q4_1", "Q4_0", "Q4_K", "Q8_ROW"];

/** Values per block and bytes per block of the block formats. */
export const BLOCK: Record<Exclude<QuantDType, "Q8_ROW">, { values: number; bytes: number }> = {
  Q8_0: { values: 32, bytes: 34 },
  Q4_0: { values: 32, bytes: 18 },
  Q4_1: { values: 32, bytes: 20 },
  Q5_0: { values: 32, bytes: 22 },
  Q4_K: { values: 256, bytes: 144 },
  Q6_K: { values: 256, bytes: 210 },
};

/** Values that a row length must be a multiple of for this dtype. */
export function rowMultiple(dtype: QuantDType): number {
  return dtype === "Q8_ROW" ? 1 : BLOCK[dtype].values;
}

/** Bytes of one quantized row of `cols` values (Q8_ROW: the int8 values only, not the scale). */
export function rowBytes(dtype: QuantDType, cols: number): number {
  if (dtype === "Q8_ROW") return cols;
  const b = BLOCK[dtype];
  if (cols % b.values !== 0) throw new RangeError(`${dtype}: a row of ${cols} values is not a multiple of the block size ${b.values}`);
  return (cols / b.values) * b.bytes;
}

/** Bytes of a whole quantized tensor of shape [rows, cols]. */
export function quantizedBytes(dtype: QuantDType, rows: number, cols: number): number {
  return rows * rowBytes(dtype, cols) + (dtype === "Q8_ROW" ? 4 * rows : 0);
}

export function isQuantDType(s: string): s is QuantDType {
  return (QUANT_DTYPES as readonly string[]).includes(s);
}

/** The 6-bit scale and min of Q4_K sub-block j from the 12 packed bytes at `s`. */
export function scaleMinK4(j: number, q: Uint8Array, s: number): [number, number] {
  if (j < 4) return [q[s + j]! & 63, q[s + j + 4]! & 63];
  return [(q[s + j + 4]! & 0x0f) | ((q[s + j - 4]! >> 6) << 4), (q[s + j + 4]! >> 4) | ((q[s + j]! >> 6) << 4)];
}

/** The 32 high bits of the Q5_0 block at byte `o`, as an unsigned 32-bit number. */
export function q5_0HighBits(src: Uint8Array, o: number): number {
  return (src[o + 2]! | (src[o + 3]! << 8) | (src[o + 4]! << 16) | (src[o + 5]! << 24)) >>> 0;
}

/** Where a Q6_K super-block keeps its 16 int8 sub-block scales and its f16 d. */
export const Q6_K_SCALES_AT = 192;
export const Q6_K_D_AT = 208;

/** The 256 six-bit codes (0 … 63) of the Q6_K super-block at byte `o`, in value order. */
export function q6_KCodes(src: Uint8Array, o: number, codes: Uint8Array): void {
  for (let h = 0; h < 2; h++) {
    const v = 128 * h,
      ql = o + 64 * h,
      qh = o + 128 + 32 * h;
    for (let l = 0; l < 32; l++) {
      const a = src[ql + l]!,
        c = src[ql + l + 32]!,
        hi = src[qh + l]!;
      codes[v + l] = (a & 0x0f) | ((hi & 3) << 4);
      codes[v + l + 32] = (c & 0x0f) | (((hi >> 2) & 3) << 4);
      codes[v + l + 64] = (a >> 4) | (((hi >> 4) & 3) << 4);
      codes[v + l + 96] = (c >> 4) | (((hi >> 6) & 3) << 4);
    }
  }
}

/** The f16 super-block scale d of the Q6_K block at byte `o`. */
export function q6_KScale(src: Uint8Array, o: number): number {
  return halfToFloat(src[o + Q6_K_D_AT]! | (src[o + Q6_K_D_AT + 1]! << 8));
}

/** The int8 scale of sub-block i (0 … 15) of the Q6_K block at byte `o`. */
export function q6_KSubScale(src: Uint8Array, o: number, i: number): number {
  return (src[o + Q6_K_SCALES_AT + i]! << 24) >> 24;
}

/** The scale of row r of a Q8_ROW tensor (f32 scales follow the rows × cols codes). */
export function q8RowScale(src: Uint8Array, rows: number, cols: number, r: number): number {
  return new DataView(src.buffer, src.byteOffset + rows * cols, 4 * rows).getFloat32(4 * r, true);
}
