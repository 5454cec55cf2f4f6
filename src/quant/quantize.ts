// quantizeTensor / dequantize: the one entry point for every quantized dtype.
//
// A weight of shape [..., cols] is quantized row by row (each row = the last axis); the row
// length must be a multiple of the dtype's block (32 for Q8_0 / Q5_0 / Q4_1 / Q4_0, 256 for Q6_K / Q4_K).
import type { StoredTensor } from "../formats/types.js";
import { toFloat32 } from "../formats/dtypes.js";
import {
  type QuantDType,
  type QuantizedTensor,
  type BLOCK,
  QUANT_DTYPES,
  isQuantDType,
  matrixShape,
  quantizedBytes,
  rowBytes,
  rowMultiple,
} from "./types.js";
import { checkFinite } from "./rounding.js";
import { dequantizeQ8_0, quantizeQ8_0 } from "./q8_0.js";
import { dequantizeQ4_0, quantizeQ4_0 } from "./q4_0.js";
import { dequantizeQ4_1, quantizeQ4_1 } from "./q4_1.js";
import { dequantizeQ5_0, quantizeQ5_0 } from "./q5_0.js";
import { dequantizeQ4_K, quantizeQ4_K } from "./q4_k.js";
import { dequantizeQ6_K, quantizeQ6_K } from "./q6_k.js";
import { dequantizeQ8Row, q8RowScale, quantizeQ8Row } from "./q8_row.js";

/** Float values with a row-major shape, when there is no StoredTensor at hand. */
export interface FloatMatrix {
  data: Float32Array;
  shape: number[];
}

type BlockCodec = (x: Float32Array, out: Uint8Array, at: number) => void;
type BlockDecoder = (src: Uint8Array, out: Float32Array, at: number) => void;
const ENCODE: Record<keyof typeof BLOCK, BlockCodec> = {
  Q8_0: quantizeQ8_0,
  Q6_K: quantizeQ6_K,
  Q5_0: quantizeQ5_0,
  Q4_1: quantizeQ4_1,
  Q4_0: quantizeQ4_0,
  Q4_K: quantizeQ4_K,
};
const DECODE: Record<keyof typeof BLOCK, BlockDecoder> = {
  Q8_0: dequantizeQ8_0,
  Q6_K: dequantizeQ6_K,
  Q5_0: dequantizeQ5_0,
  Q4_1: dequantizeQ4_1,
  Q4_0: dequantizeQ4_0,
  Q4_K: dequantizeQ4_K,
};

/** True when a row of `cols` values can be stored in `dtype`. */
export function canQuantize(dtype: QuantDType, cols: number): boolean {
  return cols > 0 && cols % rowMultiple(dtype) === 0;
}

/**
 * Quantizes a float tensor (F32, F16 or BF16 StoredTensor, or {data, shape}) to `dtype`,
 * round-to-nearest as llama.cpp's reference quantizers do. `name` goes into error messages.
 */
export function quantizeTensor(t: StoredTensor | FloatMatrix, dtype: QuantDType, name = "tensor"): QuantizedTensor {
  if (!isQuantDType(dtype)) throw new TypeError(`${name}: unknown quantized dtype ${String(dtype)} (expected ${QUANT_DTYPES.join(", ")})`);
  const x = "dtype" in t ? toFloat32(t) : t.data;
  const shape = [...t.shape];
  if (shape.length < 1) throw new RangeError(`${name}: cannot quantize a scalar`);
  const cols = shape[shape.length - 1]!;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (x.length !== rows * cols)
    throw new RangeError(`${name}: shape [${shape.join(", ")}] needs ${rows * cols} values, data has ${x.length}`);
  if (!canQuantize(dtype, cols)) {
    throw new RangeError(
      `${name}: rows of ${cols} values cannot be stored as ${dtype} (the row length must be a multiple of ${rowMultiple(dtype)})`,
    );
  }
  checkFinite(x, name);
  if (dtype === "Q8_ROW") return { dtype, shape, data: quantizeQ8Row(x, rows, cols) };
  const out = new Uint8Array(quantizedBytes(dtype, rows, cols));
  ENCODE[dtype](x, out, 0); // rows are whole blocks, so the matrix is one run of blocks
  return { dtype, shape, data: out };
}

/** The f32 values of a quantized tensor (a quantized StoredTensor read from GGUF works too). */
export function dequantize(t: QuantizedTensor | StoredTensor): StoredTensor {
  if (!isQuantDType(t.dtype)) throw new TypeError(`dequantize: ${t.dtype} is not a quantized dtype`);
  const q = t as QuantizedTensor;
  const { rows, cols } = matrixShape(q);
  const out = new Float32Array(rows * cols);
  if (q.dtype === "Q8_ROW") dequantizeQ8Row(q.data, rows, cols, out);
  else DECODE[q.dtype](q.data, out, 0);
  return { dtype: "F32", shape: [...t.shape], data: out };
}

/**
 * Row `row` of a quantized matrix (shape [rows, cols]) as f32, written to out[0 … cols): an
 * embedding lookup that decodes only the rows it needs.
 */
export function dequantizeRow(t: QuantizedTensor, rows: number, cols: number, row: number, out: Float32Array): void {
  const dst = out.subarray(0, cols);
  if (t.dtype === "Q8_ROW") {
    const scale = q8RowScale(t.data, rows, cols, row);
    const q = new Int8Array(t.data.buffer, t.data.byteOffset + row * cols, cols);
    for (let c = 0; c < cols; c++) dst[c] = scale * q[c]!;
    return;
  }
  DECODE[t.dtype](t.data, dst, row * rowBytes(t.dtype, cols));
}
