// The array helpers of vec_math.h: one body per SIMD level, picked by current_simd_level().
// The generic level uses std::exp.
#include "vec_math.h"

#include <cmath>

#include "cpu_features.h"

namespace tsgpt {
namespace {

// mode: 0 = write exp into out and sum, 1 = only sum, 2 = write scale · exp into out.
template <int kMode>
double exp_generic(const float* x, int64_t n, float shift, float scale, float* out) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    const float e = std::exp(x[i] - shift);
    if (kMode == 0) out[i] = e;
    if (kMode == 2) out[i] = scale * e;
    if (kMode != 2) sum += e;
  }
  return sum;
}

#if defined(__x86_64__)
template <int kMode>
TSGPT_TARGET_AVX512 double exp_avx512_loop(const float* x, int64_t n, float shift, float scale, float* out) {
  const __m512 s = _mm512_set1_ps(shift), k = _mm512_set1_ps(scale);
  // The sum is kept in float64 lanes, as the scalar loop does (a 32k-entry row stays exact to ~1e-12).
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512 e = _mm512_maskz_mov_ps(m, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s)));
    if (kMode == 0) _mm512_mask_storeu_ps(out + i, m, e);
    if (kMode == 2) _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(e, k));
    if (kMode != 2) {
      acc0 = _mm512_add_pd(acc0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
      acc1 = _mm512_add_pd(acc1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

template <int kMode>
TSGPT_TARGET_AVX2 double exp_avx2_loop(const float* x, int64_t n, float shift, float scale, float* out) {
  const __m256 s = _mm256_set1_ps(shift), k = _mm256_set1_ps(scale);
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    if (kMode == 0) _mm256_storeu_ps(out + i, e);
    if (kMode == 2) _mm256_storeu_ps(out + i, _mm256_mul_ps(e, k));
    if (kMode != 2) {
      acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
      acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(acc0, acc1));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  if (i < n) {
    // The tail through the same vector exp (one padded vector), so every element gets the same formula.
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t j = i; j < n; j++) buf[j - i] = x[j] - shift;
    alignas(32) float e[8];
    _mm256_store_ps(e, exp_avx2(_mm256_load_ps(buf)));
    for (int64_t j = i; j < n; j++) {
      if (kMode == 0) out[j] = e[j - i];
      if (kMode == 2) out[j] = scale * e[j - i];
      if (kMode != 2) sum += e[j - i];
    }
  }
  return sum;
}
#endif

template <int kMode>
double exp_dispatch(const float* x, int64_t n, float shift, float scale, float* out) {
#if defined(__x86_64__)
  switch (current_simd_level()) {
    case SimdLevel::avx512:
      return exp_avx512_loop<kMode>(x, n, shift, scale, out);
    case SimdLevel::avx2:
      return exp_avx2_loop<kMode>(x, n, shift, scale, out);
    default:
      break;
  }
#endif
  return exp_generic<kMode>(x, n, shift, scale, out);
}

}  // namespace

double exp_shifted_sum(float* x, int64_t n, float shift) { return exp_dispatch<0>(x, n, shift, 1.0f, x); }

double exp_shifted_scaled_sum(const float* x, int64_t n, float shift, float* out) {
  return exp_dispatch<0>(x, n, shift, 1.0f, out);
}

double exp_shifted_sum_const(const float* x, int64_t n, float shift) { return exp_dispatch<1>(x, n, shift, 1.0f, nullptr); }

void exp_shifted_scaled(const float* x, int64_t n, float shift, float scale, float* out) {
  exp_dispatch<2>(x, n, shift, scale, out);
}

}  // namespace tsgpt
