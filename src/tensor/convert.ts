// float16 / bfloat16 are storage formats: published checkpoints ship in them. These functions
// widen their raw 16-bit patterns to float32 tensors on load, and narrow float32 tensors back
// (round to nearest even) when saving. Compute always happens in float32.
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.js";
import { checkSize, numelOf, shapeStr } from "./shape.js";
import { Tensor, assertTensor } from "./tensor.js";

export type HalfDType = "float16" | "bfloat16";

/** A float32 tensor from raw 16-bit patterns (IEEE half or bfloat16) of the given shape. */
export function fromHalfBits(bits: Uint16Array, shape: readonly number[], dtype: HalfDType): Tensor {
  if (!(bits instanceof Uint16Array)) throw new TypeError(`fromHalfBits: bits must be a Uint16Array`);
  const s = checkSize("fromHalfBits", shape);
  if (numelOf(s) !== bits.length) {
    throw new RangeError(`fromHalfBits: shape ${shapeStr(s)} needs ${numelOf(s)} values, got ${bits.length}`);
  }
  if (dtype === "float16") return new Tensor(f16ToF32(bits), s);
  if (dtype === "bfloat16") return new Tensor(bf16ToF32(bits), s);
  throw new TypeError(`fromHalfBits: dtype must be "float16" or "bfloat16", got ${JSON.stringify(dtype)}`);
}

/** The 16-bit patterns of a float32 tensor's values, rounded to float16 or bfloat16. */
export function toHalfBits(x: Tensor, dtype: HalfDType): Uint16Array {
  assertTensor("toHalfBits", "input", x);
  if (x.dtype !== "float32") throw new TypeError(`toHalfBits: expected a float32 tensor, got ${x.dtype}`);
  const values = x.data() as Float32Array;
  if (dtype === "float16") return f32ToF16(values);
  if (dtype === "bfloat16") return f32ToBf16(values);
  throw new TypeError(`toHalfBits: dtype must be "float16" or "bfloat16", got ${JSON.stringify(dtype)}`);
}
