// The C reference quantizers' rounding rules: defined beside the activation quantizer of the
// kernels (src/backend/quant_rounding.ts); this module keeps the old import path.
export * from "../backend/quant_rounding.js";
