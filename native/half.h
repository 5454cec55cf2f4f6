// Linear layers with 16-bit weights (f16 or bf16 kept as raw bits): out = x · Wᵀ.
//
// The weights stay 16-bit in memory and are widened to f32 only inside the kernel, so a
// decode step streams half the bytes of an f32 model. src/generate/half_matmul.ts holds the
// readable reference of the same computation (and calls this through the backend's
// optional linearHalf).
#pragma once
#include <cstdint>

namespace tsgpt {

enum class HalfType { f16, bf16 };

/**
 * out (m × n) = x (m × k) · Wᵀ, W (n × k) row-major 16-bit bits of `type`. Sizes are already
 * validated (addon.cc); runs on the thread pool with the kernels of the current SIMD level.
 */
void linear_half(HalfType type, const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t n, float* out);

/** The 16-bit kernels of one instruction set. */
struct HalfKernels {
  /** y[j] = Σ_p x[p] · W(j, p) for j < rows; row j of W starts at w + j·k. */
  void (*dot_rows)(HalfType type, const float* x, int64_t k, const uint16_t* w, int64_t rows, float* y);
  /** dst[i] = src[i] widened to f32, for i < count. */
  void (*widen)(HalfType type, const uint16_t* src, float* dst, int64_t count);
};

// Each returns {nullptr, nullptr} when its instruction set was not compiled in.
HalfKernels half_kernels_avx512();  // half_avx512.cc (AVX512F/BW/VL)
HalfKernels half_kernels_avx2();    // half_avx2.cc (AVX2, FMA, F16C)
HalfKernels half_kernels_generic(); // half.cc (portable)

}  // namespace tsgpt
