// Quantized matmul kernels (Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K, Q8_ROW weights × 8-bit
// activations), exposed to JavaScript as matmulQ8_0 / matmulQ4_0 / matmulQ4_1 / matmulQ5_0 /
// matmulQ4_K / matmulQ6_K / matmulQ8Row and, for the row-grouped layouts, matmulQ8_0x16 /
// matmulQ5_0x16 / matmulQ4_0x16 /
// matmulQ4_1x16 / matmulQ4_Kx16 / matmulQ6_Kx16 (see src/quant/kernels.ts).
#pragma once
#include <napi.h>

namespace tsgpt {

/** Adds the quantized kernels to the addon's exports. */
void RegisterQuantKernels(Napi::Env env, Napi::Object exports);

}  // namespace tsgpt
