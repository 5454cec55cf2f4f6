// AVX-512 kernels for 16-bit weights (compiled with -mavx512f ...; chosen at run time).
//   bf16 → f32: the bf16 bits are the top half of the f32 bits, so zero-extend and shift left 16.
//   f16 → f32:  vcvtph2ps (_mm512_cvtph_ps, part of AVX512F), exact for every f16 value.
// Tails shorter than 16 use masked loads (AVX512BW/VL for 16-bit lanes).
#include "half.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__FMA__)
#include <immintrin.h>

// GCC 12 warns falsely about the undefined-vector helpers inside its own intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace tsgpt {
namespace half_avx512 {

template <HalfType T>
inline __m512 widen16(__m256i h) {
  if (T == HalfType::bf16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  return _mm512_cvtph_ps(h);
}

template <HalfType T>
inline __m512 load16(const uint16_t* p) {
  return widen16<T>(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Lanes outside the mask read nothing and widen to +0.
template <HalfType T>
inline __m512 load16_masked(const uint16_t* p, __mmask16 mask) {
  return widen16<T>(_mm256_maskz_loadu_epi16(mask, p));
}

// Four rows at a time: one x load feeds four independent accumulators (one per row), so the
// loop streams four weight rows in parallel and the FMA latency is hidden.
template <HalfType T>
void dot_rows(const float* x, int64_t k, const uint16_t* w, int64_t rows, float* y) {
  const int64_t k16 = k - k % 16;
  const __mmask16 tail = __mmask16((1u << (k % 16)) - 1);
  int64_t j = 0;
  for (; j + 4 <= rows; j += 4) {
    const uint16_t* w0 = w + j * k;
    const uint16_t* w1 = w0 + k;
    const uint16_t* w2 = w1 + k;
    const uint16_t* w3 = w2 + k;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    for (int64_t p = 0; p < k16; p += 16) {
      const __m512 xv = _mm512_loadu_ps(x + p);
      s0 = _mm512_fmadd_ps(xv, load16<T>(w0 + p), s0);
      s1 = _mm512_fmadd_ps(xv, load16<T>(w1 + p), s1);
      s2 = _mm512_fmadd_ps(xv, load16<T>(w2 + p), s2);
      s3 = _mm512_fmadd_ps(xv, load16<T>(w3 + p), s3);
    }
    if (tail) {
      const __m512 xv = _mm512_maskz_loadu_ps(tail, x + k16);
      s0 = _mm512_fmadd_ps(xv, load16_masked<T>(w0 + k16, tail), s0);
      s1 = _mm512_fmadd_ps(xv, load16_masked<T>(w1 + k16, tail), s1);
      s2 = _mm512_fmadd_ps(xv, load16_masked<T>(w2 + k16, tail), s2);
      s3 = _mm512_fmadd_ps(xv, load16_masked<T>(w3 + k16, tail), s3);
    }
    y[j] = _mm512_reduce_add_ps(s0);
    y[j + 1] = _mm512_reduce_add_ps(s1);
    y[j + 2] = _mm512_reduce_add_ps(s2);
    y[j + 3] = _mm512_reduce_add_ps(s3);
  }
  // Leftover rows: one at a time, with four accumulators over the columns instead.
  for (; j < rows; j++) {
    const uint16_t* w0 = w + j * k;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 64 <= k16; p += 64) {
      s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p), load16<T>(w0 + p), s0);
      s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p + 16), load16<T>(w0 + p + 16), s1);
      s2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p + 32), load16<T>(w0 + p + 32), s2);
      s3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p + 48), load16<T>(w0 + p + 48), s3);
    }
    for (; p < k16; p += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p), load16<T>(w0 + p), s0);
    if (tail) s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + k16), load16_masked<T>(w0 + k16, tail), s1);
    y[j] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  }
}

template <HalfType T>
void widen(const uint16_t* src, float* dst, int64_t count) {
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) _mm512_storeu_ps(dst + i, load16<T>(src + i));
  if (i < count) {
    const __mmask16 tail = __mmask16((1u << (count - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, tail, load16_masked<T>(src + i, tail));
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

}  // namespace half_avx512

HalfKernels half_kernels_avx512() { return {half_avx512::run_dot_rows, half_avx512::run_widen}; }

}  // namespace tsgpt

#else

namespace tsgpt {
HalfKernels half_kernels_avx512() { return {nullptr, nullptr}; }
}  // namespace tsgpt

#endif
