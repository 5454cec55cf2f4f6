// Data types of tensors and the typed arrays that store them.
//
// float32 is the compute type; int32 holds token ids and indices; bool holds masks (one byte
// per element, 0 or 1). Checkpoints in float16 / bfloat16 are widened to float32 on load
// (see convert.ts): they are storage formats, not compute types.
import type { DataArray } from "../backend/backend.js";
import { deviceArray } from "../backend/device_arrays.js";

export type DType = "float32" | "int32" | "bool";

export const DTYPES: readonly DType[] = ["float32", "int32", "bool"];

/** A typed array of the right kind for `dtype`, filled with zeros. */
export function allocate(dtype: DType, length: number): DataArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(length);
    case "int32":
      return new Int32Array(length);
    case "bool":
      return new Uint8Array(length);
  }
}

/**
 * allocate() for a kernel's output that is only wrapped in a Tensor or passed to other kernels,
 * never read on the CPU directly: a float32 one may keep its newest bytes on a GPU backend
 * until something reads the tensor (backend/device_arrays.ts).
 */
export function allocateOutput(dtype: DType, length: number): DataArray {
  return dtype === "float32" ? deviceArray(length) : allocate(dtype, length);
}

/** The dtype a typed array stores. */
export function dtypeOfArray(a: DataArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint8Array) return "bool";
  throw new TypeError("tensor storage must be a Float32Array, Int32Array or Uint8Array");
}

export function isDType(x: unknown): x is DType {
  return x === "float32" || x === "int32" || x === "bool";
}

/** Throws a TypeError unless `d` is a supported dtype (names float16 / bfloat16 as load-only). */
export function checkDType(op: string, d: unknown): DType {
  if (isDType(d)) return d;
  if (d === "float16" || d === "bfloat16") {
    throw new TypeError(`${op}: ${d} is a storage format only; load it with fromFloat16/fromBfloat16 (it becomes float32)`);
  }
  throw new TypeError(`${op}: unknown dtype ${JSON.stringify(d)} (expected "float32", "int32" or "bool")`);
}
