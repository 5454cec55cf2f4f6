// Vectorized activations (activations.cc): called by elementwise.cc's unary kernels first.
#pragma once
#include <cstdint>

namespace tsgpt {

/** out = op(x) with the current SIMD level's vector exp; false (nothing written) when op or level has no vector body. */
bool unary_simd(int op, const float* x, float* out, int64_t n);

/** gx = gy · op'(x) likewise; false when op or level has no vector body. */
bool unary_backward_simd(int op, const float* x, const float* y, const float* gy, float* gx, int64_t n);

}  // namespace tsgpt
