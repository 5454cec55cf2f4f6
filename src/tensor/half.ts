// 16-bit floats (f16, bf16) for the tensor library: the conversions live with the kernels
// (src/backend/half_bits.ts), which need them too; this module keeps the old import path.
export * from "../backend/half_bits.js";
