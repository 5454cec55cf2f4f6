// The activations that cost an exp per element (GELU's tanh form, SiLU, sigmoid, exp),
// forward and backward, with the vectorized exp of vec_math.h: one AVX-512 and one AVX2 body,
// picked by current_simd_level(). The generic level (and every other op) stays in
// elementwise.cc's scalar loops; unary_simd / unary_backward_simd return false for those.
//
// GELU through the sigmoid, which keeps full relative precision where 1 + tanh cancels:
//   u = √(2/π) (x + 0.044715 x³),  ½ (1 + tanh u) = σ(2u),  ½ (1 − tanh² u) = 2 σ(2u) σ(−2u)
//   gelu_tanh(x) = x σ(2u)          gelu_tanh'(x) = σ(2u) + 2 x σ(2u) σ(−2u) u'(x)
//   silu(x) = x σ(x)                silu'(x) = σ(x) (1 + x σ(−x))
#include "activations.h"

#include "cpu_features.h"
#include "kernels.h"
#include "thread_pool.h"
#include "vec_math.h"

namespace tsgpt {
namespace {

constexpr int64_t kChunk = 1 << 14;  // elements per parallel chunk, at least
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCubic = 0.044715f;

// tanh itself stays scalar: 1 − 2 / (1 + e^{2x}) loses relative precision near 0.
bool handled(int op) { return op == kExp || op == kSigmoid || op == kGeluTanh || op == kSilu; }

#if defined(__x86_64__)

// ---- AVX-512 ----

TSGPT_TARGET_AVX512 inline __m512 sigmoid512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

// σ(z) and σ(−z) = 1 − σ(z), both to full relative precision: with e = exp(−|z|) ≤ 1 (never
// overflows), σ(|z|) = 1 / (1 + e) and σ(−|z|) = e / (1 + e).
TSGPT_TARGET_AVX512 inline void sigmoid_pair512(__m512 z, __m512* s, __m512* sc) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(z)));
  const __m512 inv = _mm512_div_ps(one, _mm512_add_ps(one, e));
  const __m512 small = _mm512_mul_ps(e, inv);
  const __mmask16 neg = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
  *s = _mm512_mask_blend_ps(neg, inv, small);
  *sc = _mm512_mask_blend_ps(neg, small, inv);
}

TSGPT_TARGET_AVX512 inline __m512 gelu_u512(__m512 x) {  // √(2/π) (x + c x³)
  const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  return _mm512_mul_ps(_mm512_set1_ps(kSqrt2OverPi), _mm512_fmadd_ps(_mm512_set1_ps(kGeluCubic), x3, x));
}

template <int OP>
TSGPT_TARGET_AVX512 inline __m512 forward512(__m512 x) {
  switch (OP) {
    case kExp: return exp_avx512(x);
    case kSigmoid: return sigmoid512(x);
    case kGeluTanh: {  // ½ x (1 + tanh u) = x σ(2u)
      const __m512 u = gelu_u512(x);
      __m512 s, sc;
      sigmoid_pair512(_mm512_add_ps(u, u), &s, &sc);
      return _mm512_mul_ps(x, s);
    }
    default: {  // kSilu
      __m512 s, sc;
      sigmoid_pair512(x, &s, &sc);
      return _mm512_mul_ps(x, s);
    }
  }
}

// gy · op'(x), with y = op(x) (used where it is cheaper: exp, tanh, sigmoid).
template <int OP>
TSGPT_TARGET_AVX512 inline __m512 backward512(__m512 x, __m512 y, __m512 gy) {
  const __m512 one = _mm512_set1_ps(1.0f);
  switch (OP) {
    case kExp: return _mm512_mul_ps(gy, y);
    case kSigmoid: return _mm512_mul_ps(gy, _mm512_mul_ps(y, _mm512_sub_ps(one, y)));
    case kGeluTanh: {  // σ(2u) + 2 x σ(2u) σ(−2u) u'
      const __m512 u = gelu_u512(x);
      __m512 s, sc;
      sigmoid_pair512(_mm512_add_ps(u, u), &s, &sc);
      const __m512 du = _mm512_mul_ps(_mm512_set1_ps(kSqrt2OverPi), _mm512_fmadd_ps(_mm512_set1_ps(3.0f * kGeluCubic), _mm512_mul_ps(x, x), one));
      const __m512 b = _mm512_mul_ps(_mm512_mul_ps(_mm512_add_ps(x, x), _mm512_mul_ps(s, sc)), du);
      return _mm512_mul_ps(gy, _mm512_add_ps(s, b));
    }
    default: {  // kSilu: σ(x) (1 + x σ(−x))
      __m512 s, sc;
      sigmoid_pair512(x, &s, &sc);
      return _mm512_mul_ps(gy, _mm512_mul_ps(s, _mm512_fmadd_ps(x, sc, one)));
    }
  }
}

template <int OP>
TSGPT_TARGET_AVX512 void forward_avx512(const float* x, float* out, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 m = e - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (e - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, forward512<OP>(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

template <int OP>
TSGPT_TARGET_AVX512 void backward_avx512(const float* x, const float* y, const float* gy, float* gx, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 m = e - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (e - i)) - 1);
    const __m512 r = backward512<OP>(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), _mm512_maskz_loadu_ps(m, gy + i));
    _mm512_mask_storeu_ps(gx + i, m, r);
  }
}

// ---- AVX2 ----

TSGPT_TARGET_AVX2 inline __m256 sigmoid256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

TSGPT_TARGET_AVX2 inline void sigmoid_pair256(__m256 z, __m256* s, __m256* sc) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 absz = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
  const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), absz));
  const __m256 inv = _mm256_div_ps(one, _mm256_add_ps(one, e));
  const __m256 small = _mm256_mul_ps(e, inv);
  const __m256 neg = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ);
  *s = _mm256_blendv_ps(inv, small, neg);
  *sc = _mm256_blendv_ps(small, inv, neg);
}

TSGPT_TARGET_AVX2 inline __m256 gelu_u256(__m256 x) {
  const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
  return _mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi), _mm256_fmadd_ps(_mm256_set1_ps(kGeluCubic), x3, x));
}

template <int OP>
TSGPT_TARGET_AVX2 inline __m256 forward256(__m256 x) {
  switch (OP) {
    case kExp: return exp_avx2(x);
    case kSigmoid: return sigmoid256(x);
    case kGeluTanh: {
      const __m256 u = gelu_u256(x);
      __m256 s, sc;
      sigmoid_pair256(_mm256_add_ps(u, u), &s, &sc);
      return _mm256_mul_ps(x, s);
    }
    default: {
      __m256 s, sc;
      sigmoid_pair256(x, &s, &sc);
      return _mm256_mul_ps(x, s);
    }
  }
}

template <int OP>
TSGPT_TARGET_AVX2 inline __m256 backward256(__m256 x, __m256 y, __m256 gy) {
  const __m256 one = _mm256_set1_ps(1.0f);
  switch (OP) {
    case kExp: return _mm256_mul_ps(gy, y);
    case kSigmoid: return _mm256_mul_ps(gy, _mm256_mul_ps(y, _mm256_sub_ps(one, y)));
    case kGeluTanh: {
      const __m256 u = gelu_u256(x);
      __m256 s, sc;
      sigmoid_pair256(_mm256_add_ps(u, u), &s, &sc);
      const __m256 du = _mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi), _mm256_fmadd_ps(_mm256_set1_ps(3.0f * kGeluCubic), _mm256_mul_ps(x, x), one));
      const __m256 b = _mm256_mul_ps(_mm256_mul_ps(_mm256_add_ps(x, x), _mm256_mul_ps(s, sc)), du);
      return _mm256_mul_ps(gy, _mm256_add_ps(s, b));
    }
    default: {
      __m256 s, sc;
      sigmoid_pair256(x, &s, &sc);
      return _mm256_mul_ps(gy, _mm256_mul_ps(s, _mm256_fmadd_ps(x, sc, one)));
    }
  }
}

// The tail (fewer than 8 elements) goes through the same vector formula in a padded buffer.
template <int OP>
TSGPT_TARGET_AVX2 void forward_avx2(const float* x, float* out, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 8 <= e; i += 8) _mm256_storeu_ps(out + i, forward256<OP>(_mm256_loadu_ps(x + i)));
  if (i == e) return;
  alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t j = i; j < e; j++) buf[j - i] = x[j];
  _mm256_store_ps(buf, forward256<OP>(_mm256_load_ps(buf)));
  for (int64_t j = i; j < e; j++) out[j] = buf[j - i];
}

template <int OP>
TSGPT_TARGET_AVX2 void backward_avx2(const float* x, const float* y, const float* gy, float* gx, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 8 <= e; i += 8)
    _mm256_storeu_ps(gx + i, backward256<OP>(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), _mm256_loadu_ps(gy + i)));
  if (i == e) return;
  alignas(32) float bx[8] = {0}, by[8] = {0}, bg[8] = {0};
  for (int64_t j = i; j < e; j++) {
    bx[j - i] = x[j];
    by[j - i] = y[j];
    bg[j - i] = gy[j];
  }
  _mm256_store_ps(bx, backward256<OP>(_mm256_load_ps(bx), _mm256_load_ps(by), _mm256_load_ps(bg)));
  for (int64_t j = i; j < e; j++) gx[j] = bx[j - i];
}

template <int OP>
void forward_level(SimdLevel level, const float* x, float* out, int64_t n) {
  parallel_range(n, kChunk, [&](int64_t b, int64_t e) {
    if (level == SimdLevel::avx512) forward_avx512<OP>(x, out, b, e);
    else forward_avx2<OP>(x, out, b, e);
  });
}

template <int OP>
void backward_level(SimdLevel level, const float* x, const float* y, const float* gy, float* gx, int64_t n) {
  parallel_range(n, kChunk, [&](int64_t b, int64_t e) {
    if (level == SimdLevel::avx512) backward_avx512<OP>(x, y, gy, gx, b, e);
    else backward_avx2<OP>(x, y, gy, gx, b, e);
  });
}

#endif

}  // namespace

bool unary_simd(int op, const float* x, float* out, int64_t n) {
#if defined(__x86_64__)
  const SimdLevel level = current_simd_level();
  if (level == SimdLevel::generic || !handled(op)) return false;
  switch (op) {
    case kExp: forward_level<kExp>(level, x, out, n); break;
    case kSigmoid: forward_level<kSigmoid>(level, x, out, n); break;
    case kGeluTanh: forward_level<kGeluTanh>(level, x, out, n); break;
    case kSilu: forward_level<kSilu>(level, x, out, n); break;
  }
  return true;
#else
  (void)op, (void)x, (void)out, (void)n;
  return false;
#endif
}

bool unary_backward_simd(int op, const float* x, const float* y, const float* gy, float* gx, int64_t n) {
#if defined(__x86_64__)
  const SimdLevel level = current_simd_level();
  if (level == SimdLevel::generic || !handled(op)) return false;
  switch (op) {
    case kExp: backward_level<kExp>(level, x, y, gy, gx, n); break;
    case kSigmoid: backward_level<kSigmoid>(level, x, y, gy, gx, n); break;
    case kGeluTanh: backward_level<kGeluTanh>(level, x, y, gy, gx, n); break;
    case kSilu: backward_level<kSilu>(level, x, y, gy, gx, n); break;
  }
  return true;
#else
  (void)op, (void)x, (void)y, (void)gy, (void)gx, (void)n;
  return false;
#endif
}

}  // namespace tsgpt
