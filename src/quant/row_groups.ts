// The 16-row grouped layouts of the quantized matrices: defined with the kernels that read them
// (src/backend/quant_row_groups.ts); this module keeps the old import path.
export * from "../backend/quant_row_groups.js";
