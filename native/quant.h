// Quantized matmul kernels (Q8_0, Q4_0, Q4_K, Q8_ROW weights × 8-bit activations), exposed to
// JavaScript as matmulQ8_0 / matmulQ4_0 / matmulQ4_K / matmulQ8Row (see src/quant/kernels.ts).
#pragma once
#include <napi.h>

namespace tsgpt {

/** Adds the quantized kernels to the addon's exports. */
void RegisterQuantKernels(Napi::Env env, Napi::Object exports);

}  // namespace tsgpt
