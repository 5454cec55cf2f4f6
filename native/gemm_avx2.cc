// AVX2 + FMA matmul kernels (compiled with -mavx2 -mfma; chosen at run time).
#include "gemm.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace tsgpt {
namespace avx2 {

constexpr int MR = 6;
constexpr int NR = 16;
constexpr int64_t KC = 256;
constexpr int64_t MC = 72;
constexpr int64_t NC = 3072;

// 6×16 tile: 12 ymm accumulators, 2 ymm for B, 1 for the broadcast of A.
static inline void micro_kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool beta) {
  __m256 acc0[MR], acc1[MR];
  for (int i = 0; i < MR; i++) { acc0[i] = _mm256_setzero_ps(); acc1[i] = _mm256_setzero_ps(); }
  for (int64_t p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_load_ps(bp);
    const __m256 b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      const __m256 a = _mm256_broadcast_ss(ap + i);
      acc0[i] = _mm256_fmadd_ps(a, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(a, b1, acc1[i]);
    }
    ap += MR;
    bp += NR;
  }
  for (int i = 0; i < MR; i++) {
    float* row = c + i * ldc;
    if (beta) {
      acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(row));
      acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(row + 8));
    }
    _mm256_storeu_ps(row, acc0[i]);
    _mm256_storeu_ps(row + 8, acc1[i]);
  }
}

static void pack_a_rows(int64_t kc, const float* src, int64_t rs, float* ap) {
  for (int64_t p = 0; p < kc; p++)
    for (int i = 0; i < MR; i++) ap[p * MR + i] = src[i * rs + p];
}

static void pack_b_cols(int64_t kc, const float* src, int64_t cs, float* bp) {
  for (int64_t p = 0; p < kc; p++)
    for (int j = 0; j < NR; j++) bp[p * NR + j] = src[j * cs + p];
}

// acc[j] += Σ_p x[p]·m[p*rs + j]: four rows per pass, 8 columns per vector.
static void gemv_rows(int64_t jb, int64_t k, const float* x, const float* m, int64_t rs, float* acc) {
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    const __m256 x0 = _mm256_set1_ps(x[p]), x1 = _mm256_set1_ps(x[p + 1]), x2 = _mm256_set1_ps(x[p + 2]), x3 = _mm256_set1_ps(x[p + 3]);
    const float* r0 = m + p * rs;
    const float* r1 = r0 + rs;
    const float* r2 = r1 + rs;
    const float* r3 = r2 + rs;
    int64_t j = 0;
    for (; j + 8 <= jb; j += 8) {
      __m256 a = _mm256_loadu_ps(acc + j);
      a = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r0 + j), a);
      a = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r1 + j), a);
      a = _mm256_fmadd_ps(x2, _mm256_loadu_ps(r2 + j), a);
      a = _mm256_fmadd_ps(x3, _mm256_loadu_ps(r3 + j), a);
      _mm256_storeu_ps(acc + j, a);
    }
    for (; j < jb; j++) acc[j] += x[p] * r0[j] + x[p + 1] * r1[j] + x[p + 2] * r2[j] + x[p + 3] * r3[j];
  }
  for (; p < k; p++) {
    const float* r = m + p * rs;
    for (int64_t j = 0; j < jb; j++) acc[j] += x[p] * r[j];
  }
}

// y[j] (+)= Σ_p x[p]·m[j*cs + p]: 16 partial sums per dot product so the loop vectorizes.
static void gemv_dots(int64_t n, int64_t k, const float* x, const float* m, int64_t cs, float* y, bool accumulate) {
  for (int64_t j = 0; j < n; j++) {
    const float* col = m + j * cs;
    float part[16] = {0};
    int64_t p = 0;
    for (; p + 16 <= k; p += 16)
      for (int l = 0; l < 16; l++) part[l] += x[p + l] * col[p + l];
    float s = 0.0f;
    for (int l = 0; l < 16; l++) s += part[l];
    for (; p < k; p++) s += x[p] * col[p];
    y[j] = (accumulate ? y[j] : 0.0f) + s;
  }
}

#include "gemm_driver.inc"

}  // namespace avx2

GemmKernels gemm_kernels_avx2() { return {avx2::run_gemm, avx2::run_gemv, avx2::MR, avx2::NR}; }

}  // namespace tsgpt

#else

namespace tsgpt {
GemmKernels gemm_kernels_avx2() { return {nullptr, nullptr, 0, 0}; }
}  // namespace tsgpt

#endif
