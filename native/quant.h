// Quantized matmul kernels (Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K, Q8_ROW weights × 8-bit
// activations, plain or 16-row grouped layouts), exposed to JavaScript as one function,
// quantMatmul(dtype, grouped, x, m, k, w, n, out) (the Backend's quantMatmul in
// src/backend/native.ts), and quantKernelLevel() naming the kernels that run.
#pragma once
#include <napi.h>

namespace tsgpt {

/** Adds the quantized kernels to the addon's exports. */
void RegisterQuantKernels(Napi::Env env, Napi::Object exports);

}  // namespace tsgpt
