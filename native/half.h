// Linear layers with 16-bit weights (f16 or bf16 kept as raw bits): out = x · Wᵀ.
//
// The weights stay 16-bit in memory and are widened to f32 only inside the kernel, so a
// decode step streams half the bytes of an f32 model. src/backend/js_half.ts holds the readable
// reference of the same computation (the js backend's linearHalf). The scalar conversions below
// serve every kernel that reads 16-bit values (the f16 scales of quant.cc too).
#pragma once
#include <cstdint>
#include <cstring>

namespace tsgpt {

enum class HalfType { f16, bf16 };

/** The f32 of one f16 bit pattern. Exact: every f16 value is an f32 value (subnormals become normal). */
inline float f16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);  // rebias 15 → 127
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal (mant · 2^-24): shift the leading 1 up to the implicit bit, one exponent step each.
    uint32_t e = 113;
    while ((mant & 0x400) == 0) {
      mant <<= 1;
      e--;
    }
    bits = sign | (e << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

/** The f32 of one bf16 bit pattern: the bf16 bits are the top half of the f32 bits. */
inline float bf16_to_float(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

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
