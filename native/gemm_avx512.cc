// AVX-512 matmul kernels (compiled with -mavx512f ...; chosen at run time).
#include "gemm.h"

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>

// GCC 12 warns falsely about the undefined-vector helpers inside its own intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

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

// In-register 16×16 transpose: r[i] holds row i on entry, column i on exit.
static inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int g = 0; g < 4; g++) {
    t[4 * g + 0] = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]);
    t[4 * g + 1] = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
    t[4 * g + 2] = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
    t[4 * g + 3] = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
  }
  // u[4g + c], lane L: column 4L + c of rows 4g..4g+3.
  for (int g = 0; g < 4; g++) {
    u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  // Column 4L + c gathers lane L of u[c], u[4 + c], u[8 + c], u[12 + c].
  for (int c = 0; c < 4; c++) {
    const __m512 lo01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44);
    const __m512 lo23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
    const __m512 hi01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
    const __m512 hi23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
    r[c] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);
    r[4 + c] = _mm512_shuffle_f32x4(lo01, lo23, 0xDD);
    r[8 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0xDD);
  }
}

// A row-major (MR rows, each contiguous in p): ap[p*MR + i] = src[i*rs + p].
// 16 values of p at a time through a 16×16 transpose (rows MR..15 are zero).
static void pack_a_rows(int64_t kc, const float* src, int64_t rs, float* ap) {
  static_assert(MR <= 16, "pack_a_rows transposes at most 16 rows");
  constexpr __mmask16 kRows = __mmask16((1u << MR) - 1);
  int64_t p = 0;
  for (; p + 16 <= kc; p += 16) {
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = i < MR ? _mm512_loadu_ps(src + i * rs + p) : _mm512_setzero_ps();
    transpose16(r);
    for (int q = 0; q < 16; q++) _mm512_mask_storeu_ps(ap + (p + q) * MR, kRows, r[q]);
  }
  for (; p < kc; p++)
    for (int i = 0; i < MR; i++) ap[p * MR + i] = src[i * rs + p];
}

// B stored transposed (NR columns, each contiguous in p): bp[p*NR + j] = src[j*cs + p].
static void pack_b_cols(int64_t kc, const float* src, int64_t cs, float* bp) {
  int64_t p = 0;
  for (; p + 16 <= kc; p += 16) {
    for (int h = 0; h < NR / 16; h++) {
      __m512 r[16];
      for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (h * 16 + i) * cs + p);
      transpose16(r);
      for (int q = 0; q < 16; q++) _mm512_store_ps(bp + (p + q) * NR + h * 16, r[q]);
    }
  }
  for (; p < kc; p++)
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

// y[j] (+)= Σ_p x[p]·m[j*cs + p]: four dot products at a time, 16 lanes wide, masked tail.
static void gemv_dots(int64_t n, int64_t k, const float* x, const float* m, int64_t cs, float* y, bool accumulate) {
  const __mmask16 tail = __mmask16((1u << (k % 16)) - 1);
  const int64_t k16 = k - k % 16;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* c0 = m + j * cs;
    const float* c1 = c0 + cs;
    const float* c2 = c1 + cs;
    const float* c3 = c2 + cs;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    for (int64_t p = 0; p < k16; p += 16) {
      const __m512 xv = _mm512_loadu_ps(x + p);
      s0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(c0 + p), s0);
      s1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(c1 + p), s1);
      s2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(c2 + p), s2);
      s3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(c3 + p), s3);
    }
    if (tail) {
      const __m512 xv = _mm512_maskz_loadu_ps(tail, x + k16);
      s0 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, c0 + k16), s0);
      s1 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, c1 + k16), s1);
      s2 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, c2 + k16), s2);
      s3 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, c3 + k16), s3);
    }
    const float r[4] = {_mm512_reduce_add_ps(s0), _mm512_reduce_add_ps(s1), _mm512_reduce_add_ps(s2),
                        _mm512_reduce_add_ps(s3)};
    for (int i = 0; i < 4; i++) y[j + i] = (accumulate ? y[j + i] : 0.0f) + r[i];
  }
  for (; j < n; j++) {
    const float* c0 = m + j * cs;
    __m512 s0 = _mm512_setzero_ps();
    for (int64_t p = 0; p < k16; p += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p), _mm512_loadu_ps(c0 + p), s0);
    if (tail) s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + k16), _mm512_maskz_loadu_ps(tail, c0 + k16), s0);
    y[j] = (accumulate ? y[j] : 0.0f) + _mm512_reduce_add_ps(s0);
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
