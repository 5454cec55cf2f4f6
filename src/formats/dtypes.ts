// Storage dtypes: their sizes in bytes, typed-array views over raw bytes, and conversions.
// Multi-byte values are little-endian in every format tsgpt reads (safetensors, GGUF,
// llama2.c); typed arrays use the host's order, which is little-endian on every platform Node
// supports in practice.
import type { StorageDType, StoredTensor } from "./types.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../tensor/half.js";

/** Elements per quantization block and bytes per block, for block-quantized dtypes. */
export const QUANT_BLOCKS: Partial<Record<StorageDType, { elements: number; bytes: number }>> = {
  Q8_0: { elements: 32, bytes: 34 }, // f16 scale + 32 x int8
  Q6_K: { elements: 256, bytes: 210 }, // 128 bytes of low nibbles + 64 bytes of 2-bit highs + 16 int8 sub-block scales + f16 scale
  Q5_0: { elements: 32, bytes: 22 }, // f16 scale + 4 bytes of fifth bits + 16 bytes of 4-bit pairs
  Q4_0: { elements: 32, bytes: 18 }, // f16 scale + 16 bytes of 4-bit pairs
  Q4_1: { elements: 32, bytes: 20 }, // f16 scale + f16 minimum + 16 bytes of 4-bit pairs
  Q4_K: { elements: 256, bytes: 144 }, // f16 scale + f16 min + 12 bytes of 6-bit sub-block scales/mins + 128 bytes of nibbles
};

const ELEMENT_BYTES: Partial<Record<StorageDType, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  I32: 4,
  I64: 8,
  U8: 1,
  BOOL: 1,
};

/** Number of elements of a shape ([] is a scalar: 1 element). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes needed to store a tensor of this dtype and shape (block dtypes: rows of whole blocks). */
export function storageBytes(dtype: StorageDType, shape: readonly number[]): number {
  const q = QUANT_BLOCKS[dtype];
  if (q) {
    const n = elementCount(shape);
    if (n % q.elements !== 0) throw new RangeError(`${dtype}: ${n} elements is not a multiple of the block size ${q.elements}`);
    return (n / q.elements) * q.bytes;
  }
  return elementCount(shape) * ELEMENT_BYTES[dtype]!;
}

/** Typed array over `bytes` (which must be aligned for the element type) for this dtype. */
export function viewAs(dtype: StorageDType, bytes: Uint8Array): StoredTensor["data"] {
  const { buffer, byteOffset, byteLength } = bytes;
  switch (dtype) {
    case "F32":
      return new Float32Array(buffer, byteOffset, byteLength / 4);
    case "F16":
    case "BF16":
      return new Uint16Array(buffer, byteOffset, byteLength / 2);
    case "I32":
      return new Int32Array(buffer, byteOffset, byteLength / 4);
    case "I64":
      return new BigInt64Array(buffer, byteOffset, byteLength / 8);
    default:
      return bytes; // U8, BOOL and the quantized dtypes: raw bytes
  }
}

/** The raw bytes of a tensor's data (a view, no copy). */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The elements as f32 (a copy for 16-bit dtypes; the same array for F32). */
export function toFloat32(t: StoredTensor): Float32Array {
  switch (t.dtype) {
    case "F32":
      return t.data as Float32Array;
    case "F16":
      return f16ToF32(t.data as Uint16Array);
    case "BF16":
      return bf16ToF32(t.data as Uint16Array);
    case "I32":
    case "U8":
    case "BOOL":
      return Float32Array.from(t.data as Int32Array | Uint8Array);
    default:
      throw new Error(`cannot convert a ${t.dtype} tensor to f32 here (dequantize it with the quantization code)`);
  }
}

/** A float tensor converted to F32, F16 or BF16 (the same object when it already has that dtype). */
export function convertFloat(t: StoredTensor, dtype: "F32" | "F16" | "BF16"): StoredTensor {
  if (t.dtype === dtype) return t;
  if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16") {
    throw new Error(`cannot convert a ${t.dtype} tensor to ${dtype}`);
  }
  const f = toFloat32(t);
  const data = dtype === "F32" ? f : dtype === "F16" ? f32ToF16(f) : f32ToBf16(f);
  return { dtype, shape: [...t.shape], data };
}

/** Checks that a tensor's data has the type and length its dtype and shape require. */
export function checkTensor(name: string, t: StoredTensor): void {
  const expected = storageBytes(t.dtype, t.shape);
  const okType =
    (t.dtype === "F32" && t.data instanceof Float32Array) ||
    ((t.dtype === "F16" || t.dtype === "BF16") && t.data instanceof Uint16Array) ||
    (t.dtype === "I32" && t.data instanceof Int32Array) ||
    (t.dtype === "I64" && t.data instanceof BigInt64Array) ||
    ((t.dtype === "U8" || t.dtype === "BOOL" || QUANT_BLOCKS[t.dtype] !== undefined) && t.data instanceof Uint8Array);
  if (!okType) throw new TypeError(`tensor ${name}: ${t.dtype} data must not be a ${t.data.constructor.name}`);
  if (t.data.byteLength !== expected) {
    throw new RangeError(`tensor ${name}: shape [${t.shape.join(", ")}] ${t.dtype} needs ${expected} bytes, data has ${t.data.byteLength}`);
  }
}
