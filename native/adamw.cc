// The AdamW update (see Backend.adamw in src/backend/backend.ts), in float64 arithmetic on float32
// storage, with one body per SIMD level: AVX-512 (8 doubles per step), AVX2 (4) and a scalar loop.
// Every body does the same operations in the same order (no fused multiply-adds: the build's
// -std=c++17 keeps floating-point contraction off), so the levels give identical bits.
#include <cmath>

#include "cpu_features.h"
#include "kernels.h"
#include "thread_pool.h"
#include "vec_math.h"

namespace tsgpt {
namespace {

constexpr int64_t kChunk = 1 << 15;  // elements per parallel chunk, at least

struct Hyper {
  double lr, beta1, beta2, eps, bc1, bc2, decay;
};

void adamw_scalar(const Hyper& h, float* p, const float* g, float* m, float* v, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; i++) {
    const double gi = g[i];
    const double mi = h.beta1 * m[i] + (1.0 - h.beta1) * gi;
    const double vi = h.beta2 * v[i] + (1.0 - h.beta2) * gi * gi;
    m[i] = float(mi);
    v[i] = float(vi);
    const double pi = double(p[i]) * h.decay;
    p[i] = float(pi - h.lr * (mi / h.bc1) / (std::sqrt(vi / h.bc2) + h.eps));
  }
}

#if defined(__x86_64__)
TSGPT_TARGET_AVX512 void adamw_avx512(const Hyper& h, float* p, const float* g, float* m, float* v, int64_t b, int64_t e) {
  const __m512d b1 = _mm512_set1_pd(h.beta1), c1 = _mm512_set1_pd(1.0 - h.beta1);
  const __m512d b2 = _mm512_set1_pd(h.beta2), c2 = _mm512_set1_pd(1.0 - h.beta2);
  const __m512d lr = _mm512_set1_pd(h.lr), eps = _mm512_set1_pd(h.eps), bc1 = _mm512_set1_pd(h.bc1),
                bc2 = _mm512_set1_pd(h.bc2), decay = _mm512_set1_pd(h.decay);
  for (int64_t i = b; i < e; i += 8) {
    const __mmask8 k = e - i >= 8 ? __mmask8(0xff) : __mmask8((1u << (e - i)) - 1);
    const __m512d gi = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, g + i));
    const __m512d mi = _mm512_add_pd(_mm512_mul_pd(b1, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, m + i))), _mm512_mul_pd(c1, gi));
    const __m512d vi =
        _mm512_add_pd(_mm512_mul_pd(b2, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, v + i))), _mm512_mul_pd(_mm512_mul_pd(c2, gi), gi));
    _mm256_mask_storeu_ps(m + i, k, _mm512_cvtpd_ps(mi));
    _mm256_mask_storeu_ps(v + i, k, _mm512_cvtpd_ps(vi));
    const __m512d pi = _mm512_mul_pd(_mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, p + i)), decay);
    const __m512d step = _mm512_div_pd(_mm512_mul_pd(lr, _mm512_div_pd(mi, bc1)), _mm512_add_pd(_mm512_sqrt_pd(_mm512_div_pd(vi, bc2)), eps));
    _mm256_mask_storeu_ps(p + i, k, _mm512_cvtpd_ps(_mm512_sub_pd(pi, step)));
  }
}

TSGPT_TARGET_AVX2 void adamw_avx2(const Hyper& h, float* p, const float* g, float* m, float* v, int64_t b, int64_t e) {
  const __m256d b1 = _mm256_set1_pd(h.beta1), c1 = _mm256_set1_pd(1.0 - h.beta1);
  const __m256d b2 = _mm256_set1_pd(h.beta2), c2 = _mm256_set1_pd(1.0 - h.beta2);
  const __m256d lr = _mm256_set1_pd(h.lr), eps = _mm256_set1_pd(h.eps), bc1 = _mm256_set1_pd(h.bc1),
                bc2 = _mm256_set1_pd(h.bc2), decay = _mm256_set1_pd(h.decay);
  int64_t i = b;
  for (; i + 4 <= e; i += 4) {
    const __m256d gi = _mm256_cvtps_pd(_mm_loadu_ps(g + i));
    const __m256d mi = _mm256_add_pd(_mm256_mul_pd(b1, _mm256_cvtps_pd(_mm_loadu_ps(m + i))), _mm256_mul_pd(c1, gi));
    const __m256d vi = _mm256_add_pd(_mm256_mul_pd(b2, _mm256_cvtps_pd(_mm_loadu_ps(v + i))), _mm256_mul_pd(_mm256_mul_pd(c2, gi), gi));
    _mm_storeu_ps(m + i, _mm256_cvtpd_ps(mi));
    _mm_storeu_ps(v + i, _mm256_cvtpd_ps(vi));
    const __m256d pi = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i)), decay);
    const __m256d step = _mm256_div_pd(_mm256_mul_pd(lr, _mm256_div_pd(mi, bc1)), _mm256_add_pd(_mm256_sqrt_pd(_mm256_div_pd(vi, bc2)), eps));
    _mm_storeu_ps(p + i, _mm256_cvtpd_ps(_mm256_sub_pd(pi, step)));
  }
  adamw_scalar(h, p, g, m, v, i, e);
}
#endif

}  // namespace

void adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr, double beta1, double beta2, double eps,
           double weight_decay, double step) {
  const Hyper h{lr, beta1, beta2, eps, 1.0 - std::pow(beta1, step), 1.0 - std::pow(beta2, step), 1.0 - lr * weight_decay};
  const SimdLevel level = current_simd_level();
  parallel_range(n, kChunk, [&](int64_t b, int64_t e) {
#if defined(__x86_64__)
    if (level == SimdLevel::avx512) return adamw_avx512(h, p, g, m, v, b, e);
    if (level == SimdLevel::avx2) return adamw_avx2(h, p, g, m, v, b, e);
#endif
    adamw_scalar(h, p, g, m, v, b, e);
  });
}

}  // namespace tsgpt
