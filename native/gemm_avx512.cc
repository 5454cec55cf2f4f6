// AVX-512 matmul kernels (compiled with -mavx512f ...; chosen at run time).
#include "gemm.h"

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>

namespace tsgpt {
namespace avx512 {

#ifndef TSGPT_AVX512_MR
#define TSGPT_AVX512_MR 12
#endif
#ifndef TSGPT_AVX512_KC
#define TSGPT_AVX512_KC 256
#endif
#ifndef TSGPT_AVX512_MC
#define TSGPT_AVX512_MC 192
#endif
constexpr int MR = TSGPT_AVX512_MR;
constexpr int NR = 32;
constexpr int64_t KC = TSGPT_AVX512_KC;
constexpr int64_t MC = TSGPT_AVX512_MC;
constexpr int64_t NC = 3072;

// MR×32 tile: 2·MR zmm accumulators; each step loads two zmm of B and broadcasts MR of A.
static inline void micro_kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool beta) {
  __m512 acc0[MR], acc1[MR];
  for (int i = 0; i < MR; i++) { acc0[i] = _mm512_setzero_ps(); acc1[i] = _mm512_setzero_ps(); }
  for (int64_t p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_load_ps(bp);
    const __m512 b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m512 a = _mm512_set1_ps(ap[i]);
      acc0[i] = _mm512_fmadd_ps(a, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(a, b1, acc1[i]);
    }
    ap += MR;
    bp += NR;
  }
  for (int i = 0; i < MR; i++) {
    float* row = c + i * ldc;
    if (beta) {
      acc0[i] = _mm512_add_ps(acc0[i], _mm512_loadu_ps(row));
      acc1[i] = _mm512_add_ps(acc1[i], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc0[i]);
    _mm512_storeu_ps(row + 16, acc1[i]);
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

// acc[j] += Σ_p x[p]·m[p*rs + j]: four rows per pass, 16 columns per vector.
static void gemv_rows(int64_t jb, int64_t k, const float* x, const float* m, int64_t rs, float* acc) {
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    const __m512 x0 = _mm512_set1_ps(x[p]), x1 = _mm512_set1_ps(x[p + 1]), x2 = _mm512_set1_ps(x[p + 2]), x3 = _mm512_set1_ps(x[p + 3]);
    const float* r0 = m + p * rs;
    const float* r1 = r0 + rs;
    const float* r2 = r1 + rs;
    const float* r3 = r2 + rs;
    int64_t j = 0;
    for (; j + 16 <= jb; j += 16) {
      __m512 a = _mm512_loadu_ps(acc + j);
      a = _mm512_fmadd_ps(x0, _mm512_loadu_ps(r0 + j), a);
      a = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r1 + j), a);
      a = _mm512_fmadd_ps(x2, _mm512_loadu_ps(r2 + j), a);
      a = _mm512_fmadd_ps(x3, _mm512_loadu_ps(r3 + j), a);
      _mm512_storeu_ps(acc + j, a);
    }
    for (; j < jb; j++) acc[j] += x[p] * r0[j] + x[p + 1] * r1[j] + x[p + 2] * r2[j] + x[p + 3] * r3[j];
  }
  for (; p < k; p++) {
    const float* r = m + p * rs;
    for (int64_t j = 0; j < jb; j++) acc[j] += x[p] * r[j];
  }
}

#include "gemm_driver.inc"

}  // namespace avx512

GemmKernels gemm_kernels_avx512() { return {avx512::run_gemm, avx512::run_gemv, avx512::MR, avx512::NR}; }

}  // namespace tsgpt

#else

namespace tsgpt {
GemmKernels gemm_kernels_avx512() { return {nullptr, nullptr, 0, 0}; }
}  // namespace tsgpt

#endif
