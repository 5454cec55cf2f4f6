// AVX2 kernels for 16-bit weights (compiled with -mavx2 -mfma -mf16c; chosen at run time when
// the CPU also has F16C, which every AVX2 CPU so far has).
//   bf16 → f32: zero-extend to 32 bits and shift left 16 (the bf16 bits are the top half).
//   f16 → f32:  vcvtph2ps (_mm256_cvtph_ps, F16C), exact for every f16 value.
// Tails shorter than 8 go through a small zero-padded copy, so no load crosses the buffer end.
#include "half.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cstring>

namespace tsgpt {
namespace half_avx2 {

template <HalfType T>
inline __m256 widen8(__m128i h) {
  if (T == HalfType::bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  return _mm256_cvtph_ps(h);
}

template <HalfType T>
inline __m256 load8(const uint16_t* p) {
  return widen8<T>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The last k % 8 columns of x and of one row, zero-padded to 8.
struct Tail {
  float x[8] = {};
  uint16_t w[8] = {};
};

// Four rows at a time: one x load feeds four independent accumulators (one per row).
template <HalfType T>
void dot_rows(const float* x, int64_t k, const uint16_t* w, int64_t rows, float* y) {
  const int64_t k8 = k - k % 8, rest = k % 8;
  Tail t;
  std::memcpy(t.x, x + k8, sizeof(float) * size_t(rest));
  const __m256 xt = _mm256_loadu_ps(t.x);
  auto tail_of = [&](const uint16_t* row) {
    std::memcpy(t.w, row + k8, sizeof(uint16_t) * size_t(rest));
    return load8<T>(t.w);
  };
  int64_t j = 0;
  for (; j + 4 <= rows; j += 4) {
    const uint16_t* w0 = w + j * k;
    const uint16_t* w1 = w0 + k;
    const uint16_t* w2 = w1 + k;
    const uint16_t* w3 = w2 + k;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    for (int64_t p = 0; p < k8; p += 8) {
      const __m256 xv = _mm256_loadu_ps(x + p);
      s0 = _mm256_fmadd_ps(xv, load8<T>(w0 + p), s0);
      s1 = _mm256_fmadd_ps(xv, load8<T>(w1 + p), s1);
      s2 = _mm256_fmadd_ps(xv, load8<T>(w2 + p), s2);
      s3 = _mm256_fmadd_ps(xv, load8<T>(w3 + p), s3);
    }
    if (rest) {
      s0 = _mm256_fmadd_ps(xt, tail_of(w0), s0);
      s1 = _mm256_fmadd_ps(xt, tail_of(w1), s1);
      s2 = _mm256_fmadd_ps(xt, tail_of(w2), s2);
      s3 = _mm256_fmadd_ps(xt, tail_of(w3), s3);
    }
    y[j] = hsum(s0);
    y[j + 1] = hsum(s1);
    y[j + 2] = hsum(s2);
    y[j + 3] = hsum(s3);
  }
  // Leftover rows: one at a time, with four accumulators over the columns instead.
  for (; j < rows; j++) {
    const uint16_t* w0 = w + j * k;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t p = 0;
    for (; p + 32 <= k8; p += 32) {
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), load8<T>(w0 + p), s0);
      s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 8), load8<T>(w0 + p + 8), s1);
      s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 16), load8<T>(w0 + p + 16), s2);
      s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 24), load8<T>(w0 + p + 24), s3);
    }
    for (; p < k8; p += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), load8<T>(w0 + p), s0);
    if (rest) s1 = _mm256_fmadd_ps(xt, tail_of(w0), s1);
    y[j] = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  }
}

template <HalfType T>
void widen(const uint16_t* src, float* dst, int64_t count) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, load8<T>(src + i));
  if (i < count) {
    Tail t;
    std::memcpy(t.w, src + i, sizeof(uint16_t) * size_t(count - i));
    _mm256_storeu_ps(t.x, load8<T>(t.w));
    std::memcpy(dst + i, t.x, sizeof(float) * size_t(count - i));
  }
}

void run_dot_rows(HalfType type, const float* x, int64_t k, const uint16_t* w, int64_t rows, float* y) {
  if (type == HalfType::bf16) dot_rows<HalfType::bf16>(x, k, w, rows, y);
  else dot_rows<HalfType::f16>(x, k, w, rows, y);
}

void run_widen(HalfType type, const uint16_t* src, float* dst, int64_t count) {
  if (type == HalfType::bf16) widen<HalfType::bf16>(src, dst, count);
  else widen<HalfType::f16>(src, dst, count);
}

}  // namespace half_avx2

HalfKernels half_kernels_avx2() { return {half_avx2::run_dot_rows, half_avx2::run_widen}; }

}  // namespace tsgpt

#else

namespace tsgpt {
HalfKernels half_kernels_avx2() { return {nullptr, nullptr}; }
}  // namespace tsgpt

#endif
