// The quantized dtypes of tsgpt and how their bytes are laid out.
//
// A quantized weight is one Uint8Array holding every row back to back; each row is a run of
// whole blocks (or, for Q8_ROW, int8 values with one scale per row at the end of the array).
// Q8_0, Q4_0, Q4_1, Q5_0, Q4_K and Q6_K are llama.cpp's block formats, byte for byte, so they go
// into GGUF files unchanged:
//
//   Q8_0  32 values, 34 bytes:  f16 d | 32 × int8 q                 x ≈ d·q
//   Q4_0  32 values, 18 bytes:  f16 d | 16 bytes of nibbles         x ≈ d·(q − 8)
//         byte j holds value j in its low nibble and value j+16 in its high nibble
//   Q4_1  32 values, 20 bytes:  f16 d | f16 m | 16 bytes of nibbles x ≈ d·q + m
//         the nibbles as in Q4_0; m is the block's minimum
//   Q5_0  32 values, 22 bytes:  f16 d | u32 qh | 16 bytes of nibbles x ≈ d·(q − 16)
//         the low 4 bits of q as in Q4_0; bit j of qh is the fifth bit of value j
//   Q4_K 256 values, 144 bytes: f16 d | f16 dmin | 12 bytes of 6-bit (scale, min) pairs for
//         8 sub-blocks of 32 | 128 bytes of nibbles                 x ≈ d·sc·q − dmin·m
//         byte 32·p + l holds value l of sub-block 2p (low nibble) and of 2p+1 (high nibble)
//   Q6_K 256 values, 210 bytes: ql[128] low 4 bits | qh[64] high 2 bits | 16 × int8 scale (one
//         per 16 values) | f16 d                                     x ≈ d·sc·(q − 32)
//         (the bit layout is in q6_k.ts)
//   Q8_ROW per output channel (row) int8, symmetric: rows × cols int8 q, then rows × f32 scale
//         (little-endian) at byte rows·cols.                         x ≈ scale[row]·q
//
// Q8_ROW is tsgpt's own (ggml has no per-row int8 type): it is for in-memory use and is not
// written to GGUF.
import type { StoredTensor } from "../formats/types.js";
import { type QuantDType, isQuantDType, quantizedBytes } from "../backend/quant_blocks.js";

export { type QuantDType, QUANT_DTYPES, BLOCK, rowMultiple, rowBytes, quantizedBytes, isQuantDType } from "../backend/quant_blocks.js";

/** A quantized 2-D weight: shape [rows, cols] (out_features, in_features), raw bytes. */
export interface QuantizedTensor {
  dtype: QuantDType;
  shape: number[];
  data: Uint8Array;
}

/** True when a stored tensor holds one of the quantized dtypes. */
export function isQuantized(t: StoredTensor | QuantizedTensor): t is QuantizedTensor {
  return isQuantDType(t.dtype);
}

/** Rows and columns of a tensor viewed as 2-D (a 1-D tensor is one row), checked against its bytes. */
export function matrixShape(t: QuantizedTensor): { rows: number; cols: number } {
  const shape = t.shape;
  if (shape.length < 1 || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new RangeError(`${t.dtype} tensor: invalid shape [${shape.join(", ")}]`);
  }
  const cols = shape[shape.length - 1]!;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const expected = quantizedBytes(t.dtype, rows, cols);
  if (!(t.data instanceof Uint8Array)) throw new TypeError(`${t.dtype} tensor: data must be a Uint8Array`);
  if (t.data.byteLength !== expected) {
    throw new RangeError(`${t.dtype} tensor of shape [${shape.join(", ")}] needs ${expected} bytes, data has ${t.data.byteLength}`);
  }
  return { rows, cols };
}
