// Activations quantized on the fly for the integer kernels: part of the kernels themselves
// (src/backend/quant_activations.ts); this module keeps the old import path.
export * from "../backend/quant_activations.js";
