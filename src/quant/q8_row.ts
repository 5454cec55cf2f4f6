// Q8_ROW: symmetric int8 with one f32 scale per output channel (row), tsgpt's own layout:
//   bytes [0, rows·cols): int8 codes, row after row;  then rows × f32 scale (little-endian).
//   scale = amax(row) / 127,  q = roundf(x / scale),  x ≈ scale · q.
// One scale per row is the classic "int8 weight-only" scheme (LLM.int8's vector-wise quantization
// without outliers, PyTorch's per-channel qint8): fewer bytes for scales than Q8_0, but one
// outlier in a row coarsens the whole row.
import { f32, roundHalfAway } from "./rounding.js";
import { q8RowScale } from "../backend/quant_blocks.js";

export { q8RowScale };

/** Quantizes a rows × cols matrix into rows·cols + 4·rows bytes. */
export function quantizeQ8Row(x: Float32Array, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols + 4 * rows);
  const q = new Int8Array(out.buffer, 0, rows * cols);
  const scales = new DataView(out.buffer, rows * cols);
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let c = 0; c < cols; c++) amax = Math.max(amax, Math.abs(x[r * cols + c]!));
    const d = f32(amax / 127);
    const id = d !== 0 ? f32(1 / d) : 0;
    scales.setFloat32(4 * r, d, true);
    for (let c = 0; c < cols; c++) q[r * cols + c] = roundHalfAway(f32(x[r * cols + c]! * id));
  }
  return out;
}

/** Dequantizes a Q8_ROW matrix into out (rows × cols). */
export function dequantizeQ8Row(src: Uint8Array, rows: number, cols: number, out: Float32Array): void {
  const q = new Int8Array(src.buffer, src.byteOffset, rows * cols);
  const scales = new DataView(src.buffer, src.byteOffset + rows * cols, 4 * rows);
  for (let r = 0; r < rows; r++) {
    const d = scales.getFloat32(4 * r, true);
    for (let c = 0; c < cols; c++) out[r * cols + c] = d * q[r * cols + c]!;
  }
}
