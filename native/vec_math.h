// Vectorized exp for the kernels that spend their time in it (softmax, cross-entropy,
// attention, GELU, SiLU).
//
// exp(x) = 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln 2 / 2, e^r by Cephes' degree-6
// polynomial (expf's, about 1 ulp). Below −87.34 the result is exactly 0 (so masked −∞ scores
// give weights of exactly 0), above 88.72 it is +∞, and NaN stays NaN.
//
// The AVX-512 and AVX2 bodies carry their own target attributes (as quant.cc's kernels do), so
// this header can be included from files compiled for the baseline; callers pick a body by
// current_simd_level(). The array helpers below do that themselves.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own intrinsics' _mm512_undefined_ps() as uninitialized when they are
// inlined into target-attributed functions (GCC bug 105593): a false positive in every file
// that includes this header.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define TSGPT_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
#define TSGPT_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace tsgpt {

namespace vexp {
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kC1 = 0.693359375f;  // ln 2 in two parts: C1 exact in a float, C2 the rest
constexpr float kC2 = -2.12194440e-4f;
constexpr float kHi = 88.7228391f;
constexpr float kLo = -87.3365448f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f, kP3 = 4.1665795894e-2f,
                kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;
}  // namespace vexp

#if defined(__x86_64__)

TSGPT_TARGET_AVX512 inline __m512 exp_avx512(__m512 x) {
  using namespace vexp;
  const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kLo), _CMP_LT_OQ);
  const __mmask16 over = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kHi), _CMP_GT_OQ);
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  __m512 c = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kLo)), _mm512_set1_ps(kHi));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(c, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kC1), c);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kC2), r);
  __m512 p = _mm512_set1_ps(kP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP5));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  __m512 y = _mm512_scalef_ps(p, n);
  y = _mm512_mask_blend_ps(under, y, _mm512_setzero_ps());
  y = _mm512_mask_blend_ps(over, y, _mm512_set1_ps(INFINITY));
  return _mm512_mask_blend_ps(nan, y, x);
}

TSGPT_TARGET_AVX2 inline __m256 exp_avx2(__m256 x) {
  using namespace vexp;
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(kLo), _CMP_LT_OQ);
  const __m256 over = _mm256_cmp_ps(x, _mm256_set1_ps(kHi), _CMP_GT_OQ);
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  __m256 c = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kLo)), _mm256_set1_ps(kHi));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(c, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kC1), c);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kC2), r);
  __m256 p = _mm256_set1_ps(kP0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP5));
  const __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n through the exponent bits: n + 127 in [1, 255] after the clamp (n = 128 is the +∞ case,
  // replaced below).
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), under);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), over);
  return _mm256_blendv_ps(y, x, nan);
}

#endif

/** x[i] = exp(x[i] − shift) for i < n; returns Σ x[i]. */
double exp_shifted_sum(float* x, int64_t n, float shift);

/** out[i] = exp(x[i] − shift) for i < n; returns Σ out[i] (out may be x). */
double exp_shifted_scaled_sum(const float* x, int64_t n, float shift, float* out);

/** Σ exp(x[i] − shift) for i < n (x unchanged). */
double exp_shifted_sum_const(const float* x, int64_t n, float shift);

/** out[i] = scale · exp(x[i] − shift) for i < n (out may be x). */
void exp_shifted_scaled(const float* x, int64_t n, float shift, float scale, float* out);

}  // namespace tsgpt
