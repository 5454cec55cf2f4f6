// Quantized matmul: out (m × n) = x (m × k) · Wᵀ with W (n × k) kept in llama.cpp's block
// formats (src/quant/types.ts describes the bytes; src/quant/matmul.ts is the readable reference).
// Q4_1, Q5_0 and Q6_K live in quant_q4_1.inc, quant_q5_0.inc and quant_q6_k.inc, included below,
// and the grouped Q8_0 kernels in quant_q8_0.inc.
//
// Like llama.cpp, each row of x is first quantized to blocks of 32 int8 codes with one scale
// (d = amax/127, round to nearest even: the same codes as src/quant/activations.ts), so the
// inner loops are int8 dot products:
//   - AVX-512 VNNI (vpdpbusd on 256-bit registers: unsigned × signed bytes, summed in int32),
//   - AVX2 (vpmaddubsw + vpmaddwd),
//   - portable scalar code.
// The level follows the addon's one SIMD dispatch (cpu_features.h: TSGPT_SIMD, setSimdLevel):
// avx512 runs the VNNI kernels when the CPU has AVX-512 VNNI (else the AVX2 ones), avx2 the
// AVX2 ones (they also need F16C), generic the scalar ones. Each SIMD function carries its own
// target attribute, so this file needs no special compiler flags.
// Signed × signed bytes (Q8_0, Q8_ROW) use the sign trick: |w| · (a · sign(w)).
// Q4_0, Q4_1, Q5_0 and Q4_K codes are unsigned; their offset (8, 16) or minimum is applied once
// per block with the block's code sum Σa (Q6_K's offset 32 per 16-value sub-block: see its file).
//
// Q8_0, Q5_0, Q4_0, Q4_1, Q4_K and Q6_K also have row-grouped in-memory forms, "q8_0x16",
// "q5_0x16", "q4_0x16", "q4_1x16", "q4_kx16", "q6_kx16" (packed once at load time by
// src/quant/row_groups.ts): 16 rows interleave
// each block, so one 64-byte load feeds 16 rows and one activation word (4 codes, broadcast) is
// reused by all of them; each int32 lane of the dot product is one row, and the 16 f16 scales
// of a block convert in one instruction. This streams the weights several times faster than one row at a time (whose
// loop was bound by its per-block float work). See GroupedMatmul below.
#include "quant.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "cpu_features.h"
#include "half.h"
#include "thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// GCC 12 reports "may be used uninitialized" inside its own AVX-512 intrinsics (the
// _mm512_undefined_* pass-through operand of the unmasked forms): a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace tsgpt {
namespace {

constexpr int kBlock = 32;

enum class QuantType { q8_0, q4_0, q4_k, q8_row, q5_0, q6_k, q4_1 };
enum class QuantLevel { scalar = 0, avx2 = 1, avx512vnni = 2 };

inline uint16_t load_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

inline void scale_min_k4(int j, const uint8_t* q, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// ---- activations ----

struct Acts {
  std::vector<int8_t> q;   // m × k codes
  std::vector<float> d;    // m × k/32 scales
  std::vector<int32_t> s;  // m × k/32 code sums
  std::vector<int32_t> s16;  // m × k/16 code sums of 16 values (only for the grouped Q6_K kernels)
};

// One block of 32 values → 32 codes, the scale d and the code sum (returned).
int32_t quantize_block_scalar(const float* xb, int8_t* q, float* d_out) {
  float amax = 0.0f;
  for (int j = 0; j < kBlock; j++) amax = std::fmax(amax, std::fabs(xb[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int32_t sum = 0;
  for (int j = 0; j < kBlock; j++) {
    const int v = int(std::nearbyint(xb[j] * id));  // default rounding: to nearest even
    q[j] = int8_t(v);
    sum += v;
  }
  *d_out = d;
  return sum;
}

// One output value: the dot product of a weight row with one quantized activation row.
struct RowArgs {
  const uint8_t* w;   // the weight row
  const int8_t* q;    // activation codes of the row
  const float* d;     // activation block scales
  const int32_t* s;   // activation block sums
  int64_t nb;         // blocks of 32 in the row
  const int32_t* s16; // activation sums of 16 values (may be null: unused by the row kernels)
};

// ---- scalar ----

float dot_q8_0_scalar(const RowArgs& r) {
  float acc = 0.0f;
  for (int64_t b = 0; b < r.nb; b++) {
    const uint8_t* w = r.w + 34 * b;
    const int8_t* wq = reinterpret_cast<const int8_t*>(w + 2);
    int32_t s = 0;
    for (int j = 0; j < kBlock; j++) s += int32_t(wq[j]) * r.q[b * kBlock + j];
    acc += f16_to_float(load_u16(w)) * r.d[b] * float(s);
  }
  return acc;
}

float dot_q4_0_scalar(const RowArgs& r) {
  float acc = 0.0f;
  for (int64_t b = 0; b < r.nb; b++) {
    const uint8_t* w = r.w + 18 * b;
    const int8_t* a = r.q + b * kBlock;
    int32_t s = 0;
    for (int j = 0; j < 16; j++) s += int32_t(w[2 + j] & 0xF) * a[j] + int32_t(w[2 + j] >> 4) * a[j + 16];
    acc += f16_to_float(load_u16(w)) * r.d[b] * float(s - 8 * r.s[b]);
  }
  return acc;
}

float dot_q4_k_scalar(const RowArgs& r) {
  float acc = 0.0f;
  for (int64_t sb = 0; sb < r.nb / 8; sb++) {
    const uint8_t* w = r.w + 144 * sb;
    const float d = f16_to_float(load_u16(w)), dmin = f16_to_float(load_u16(w + 2));
    for (int j = 0; j < 8; j++) {
      int sc, m;
      scale_min_k4(j, w + 4, &sc, &m);
      const int64_t blk = 8 * sb + j;
      const uint8_t* codes = w + 16 + 32 * (j >> 1);
      const int shift = (j & 1) * 4;
      const int8_t* a = r.q + blk * kBlock;
      int32_t s = 0;
      for (int l = 0; l < 32; l++) s += int32_t((codes[l] >> shift) & 0xF) * a[l];
      acc += d * float(sc) * r.d[blk] * float(s) - dmin * float(m) * r.d[blk] * float(r.s[blk]);
    }
  }
  return acc;
}

float dot_q8_row_scalar(const RowArgs& r) {
  const int8_t* wq = reinterpret_cast<const int8_t*>(r.w);
  float acc = 0.0f;
  for (int64_t b = 0; b < r.nb; b++) {
    int32_t s = 0;
    for (int j = 0; j < kBlock; j++) s += int32_t(wq[b * kBlock + j]) * r.q[b * kBlock + j];
    acc += r.d[b] * float(s);
  }
  return acc;
}

#if defined(__x86_64__)

// ---- AVX2 ----
// The integer dot of 32 unsigned bytes u with 32 signed bytes s, as 8 int32 lanes.
#define TSGPT_AVX2 __attribute__((target("avx2,fma,f16c")))

TSGPT_AVX2 inline __m256i dot_u8s8_avx2(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

TSGPT_AVX2 inline float hsum_avx2(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

TSGPT_AVX2 inline float f16_avx2(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }

// Nibbles of 16 bytes → 32 bytes: low nibbles (values 0..15) then high nibbles (16..31).
TSGPT_AVX2 inline __m256i unpack_q4_0(const uint8_t* p) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i mask = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), mask), _mm_and_si128(b, mask));
}

// The per-type block loops are written once, for any "dot of unsigned × signed bytes".
template <__m256i (*Dot)(__m256i, __m256i)>
TSGPT_AVX2 inline float q8_0_row(const RowArgs& r) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < r.nb; b++) {
    const uint8_t* w = r.w + 34 * b;
    const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2));
    const __m256i aq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.q + b * kBlock));
    const __m256i p = Dot(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(aq, wq));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx2(w) * r.d[b]), _mm256_cvtepi32_ps(p), acc);
  }
  return hsum_avx2(acc);
}

template <__m256i (*Dot)(__m256i, __m256i)>
TSGPT_AVX2 inline float q4_0_row(const RowArgs& r) {
  __m256 acc = _mm256_setzero_ps();
  float offset = 0.0f;  // Σ_b dW·dx·8·Σa, subtracted at the end
  for (int64_t b = 0; b < r.nb; b++) {
    const uint8_t* w = r.w + 18 * b;
    const __m256i aq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.q + b * kBlock));
    const __m256i p = Dot(unpack_q4_0(w + 2), aq);
    const float scale = f16_avx2(w) * r.d[b];
    acc = _mm256_fmadd_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(p), acc);
    offset += scale * float(8 * r.s[b]);
  }
  return hsum_avx2(acc) - offset;
}

template <__m256i (*Dot)(__m256i, __m256i)>
TSGPT_AVX2 inline float q4_k_row(const RowArgs& r) {
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.0f;
  const __m256i mask = _mm256_set1_epi8(0x0F);
  for (int64_t sb = 0; sb < r.nb / 8; sb++) {
    const uint8_t* w = r.w + 144 * sb;
    const float d = f16_avx2(w), dmin = f16_avx2(w + 2);
    for (int p = 0; p < 4; p++) {
      const __m256i codes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16 + 32 * p));
      for (int h = 0; h < 2; h++) {
        const int j = 2 * p + h;
        int sc, m;
        scale_min_k4(j, w + 4, &sc, &m);
        const int64_t blk = 8 * sb + j;
        const __m256i nib = _mm256_and_si256(h == 0 ? codes : _mm256_srli_epi16(codes, 4), mask);
        const __m256i aq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.q + blk * kBlock));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d * float(sc) * r.d[blk]), _mm256_cvtepi32_ps(Dot(nib, aq)), acc);
        mins += dmin * float(m) * r.d[blk] * float(r.s[blk]);
      }
    }
  }
  return hsum_avx2(acc) - mins;
}

template <__m256i (*Dot)(__m256i, __m256i)>
TSGPT_AVX2 inline float q8_row_row(const RowArgs& r) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < r.nb; b++) {
    const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.w + b * kBlock));
    const __m256i aq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.q + b * kBlock));
    const __m256i p = Dot(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(aq, wq));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(r.d[b]), _mm256_cvtepi32_ps(p), acc);
  }
  return hsum_avx2(acc);
}

TSGPT_AVX2 float dot_q8_0_avx2(const RowArgs& r) { return q8_0_row<dot_u8s8_avx2>(r); }
TSGPT_AVX2 float dot_q4_0_avx2(const RowArgs& r) { return q4_0_row<dot_u8s8_avx2>(r); }
TSGPT_AVX2 float dot_q4_k_avx2(const RowArgs& r) { return q4_k_row<dot_u8s8_avx2>(r); }
TSGPT_AVX2 float dot_q8_row_avx2(const RowArgs& r) { return q8_row_row<dot_u8s8_avx2>(r); }

// ---- AVX-512 VNNI (256-bit registers: vpdpbusd does the u8 × s8 → int32 sum in one step) ----
#define TSGPT_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

TSGPT_VNNI inline __m256i dot_u8s8_vnni(__m256i u, __m256i s) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
}

TSGPT_VNNI float dot_q8_0_vnni(const RowArgs& r) { return q8_0_row<dot_u8s8_vnni>(r); }
TSGPT_VNNI float dot_q4_0_vnni(const RowArgs& r) { return q4_0_row<dot_u8s8_vnni>(r); }
TSGPT_VNNI float dot_q4_k_vnni(const RowArgs& r) { return q4_k_row<dot_u8s8_vnni>(r); }
TSGPT_VNNI float dot_q8_row_vnni(const RowArgs& r) { return q8_row_row<dot_u8s8_vnni>(r); }

#endif  // __x86_64__

#if defined(__x86_64__)

// The same codes as quantize_block_scalar: the same float product x · id, rounded by
// vcvtps2dq under the default rounding mode (to nearest even, as nearbyint).
TSGPT_AVX2 int32_t quantize_block_avx2(const float* xb, int8_t* q, float* d_out) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int i = 0; i < 4; i++) {
    v[i] = _mm256_loadu_ps(xb + 8 * i);
    amax = _mm256_max_ps(_mm256_and_ps(v[i], abs_mask), amax);  // a NaN value is skipped, as by fmax
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float d = _mm_cvtss_f32(m4) / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  __m256i c[4];
  for (int i = 0; i < 4; i++) c[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], _mm256_set1_ps(id)));
  // int32 → int8 (codes are within ±127: no saturation); packs interleave 128-bit lanes, the permute undoes it.
  const __m256i w = _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  __m256i sum = _mm256_add_epi32(_mm256_add_epi32(c[0], c[1]), _mm256_add_epi32(c[2], c[3]));
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
  *d_out = d;
  return _mm_cvtsi128_si32(s4);
}

#endif  // __x86_64__

void quantize_acts(const float* x, int64_t m, int64_t k, QuantLevel level, bool sums16, Acts* a) {
  const int64_t nb = m * k / kBlock;
  a->q.resize(size_t(m * k));
  a->d.resize(size_t(nb));
  a->s.resize(size_t(nb));
  auto block = quantize_block_scalar;
#if defined(__x86_64__)
  if (level != QuantLevel::scalar) block = quantize_block_avx2;
#endif
  for (int64_t b = 0; b < nb; b++) a->s[size_t(b)] = block(x + b * kBlock, a->q.data() + b * kBlock, &a->d[size_t(b)]);
  if (!sums16) return;
  a->s16.assign(size_t(2 * nb), 0);
  for (int64_t h = 0; h < 2 * nb; h++) {
    int32_t sum = 0;
    for (int j = 0; j < 16; j++) sum += a->q[size_t(16 * h + j)];
    a->s16[size_t(h)] = sum;
  }
}

// ---- Q4_0 in groups of 16 rows ("q4_0x16") ----
// Per group of 16 rows and per block b (288 bytes, the same as 16 plain blocks of 18):
//   bytes 0..31    the 16 rows' f16 scales,
//   bytes 32..287  4 chunks of 64 bytes; chunk c holds nibble bytes 4c..4c+3 of row r at 4r.
// A nibble byte j holds values j (low) and j + 16 (high), so in chunk c the low nibbles meet
// activation codes 4c..4c+3 and the high ones 16+4c..16+4c+3. Rows after the last full group
// keep the plain layout.
constexpr int kGroupRows = 16;
constexpr int64_t kGroupBlockBytes = 288;

// 16 outputs: the dot products of one group's rows with one quantized activation row.
struct GroupArgs {
  const uint8_t* g;   // the group's first block
  const int8_t* q;    // activation codes of the row
  const float* d;     // activation block scales
  const int32_t* s;   // activation block sums
  int64_t nb;         // blocks of 32 in the row
  float* out;         // 16 results
  const int32_t* s16; // activation sums of 16 values (the Q6_K kernels)
};

// The inner loops run along one 64-byte chunk (4 bytes of each of the 16 rows), so a compiler
// can vectorize them on any architecture.
void group_q4_0_scalar(const GroupArgs& a) {
  float acc[kGroupRows] = {};
  for (int64_t b = 0; b < a.nb; b++) {
    const uint8_t* g = a.g + kGroupBlockBytes * b;
    const int8_t* x = a.q + b * kBlock;
    int32_t s[kGroupRows] = {};
    for (int c = 0; c < 4; c++) {
      const uint8_t* chunk = g + 32 + 64 * c;
      for (int r = 0; r < kGroupRows; r++) {
        for (int t = 0; t < 4; t++) {
          s[r] += int32_t(chunk[4 * r + t] & 0xF) * x[4 * c + t] + int32_t(chunk[4 * r + t] >> 4) * x[16 + 4 * c + t];
        }
      }
    }
    for (int r = 0; r < kGroupRows; r++) acc[r] += f16_to_float(load_u16(g + 2 * r)) * a.d[b] * float(s[r] - 8 * a.s[b]);
  }
  for (int r = 0; r < kGroupRows; r++) a.out[r] = acc[r];
}

#if defined(__x86_64__)

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The integer sums Σ c·a of one block of 8 rows (h = 0: rows 0..7, h = 1: rows 8..15), one
// int32 lane per row, from the 4 nibble chunks at `chunks` (the q4_0x16 / q4_1x16 layout).
TSGPT_AVX2 inline __m256i group_nibble_sums_avx2(const uint8_t* chunks, int h, const int8_t* x) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  for (int c = 0; c < 4; c++) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunks + 64 * c + 32 * h));
    s0 = _mm256_add_epi32(s0, dot_u8s8_avx2(_mm256_and_si256(v, mask), _mm256_set1_epi32(load_i32(x + 4 * c))));
    s1 = _mm256_add_epi32(s1, dot_u8s8_avx2(_mm256_and_si256(_mm256_srli_epi16(v, 4), mask), _mm256_set1_epi32(load_i32(x + 16 + 4 * c))));
  }
  return _mm256_add_epi32(s0, s1);
}

// One Q4_0 block of 8 rows (h = 0: rows 0..7, h = 1: rows 8..15), scaled: 8 float lanes.
TSGPT_AVX2 inline __m256 group_block_avx2(const uint8_t* g, int h, const int8_t* x, float dx, int32_t sx) {
  const __m256i s = _mm256_sub_epi32(group_nibble_sums_avx2(g + 32, h, x), _mm256_set1_epi32(8 * sx));
  const __m256 w = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g + 16 * h)));
  return _mm256_mul_ps(_mm256_mul_ps(w, _mm256_set1_ps(dx)), _mm256_cvtepi32_ps(s));
}

TSGPT_AVX2 void group_q4_0_avx2(const GroupArgs& a) {
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
  for (int64_t b = 0; b < a.nb; b++) {
    const uint8_t* g = a.g + kGroupBlockBytes * b;
    const int8_t* x = a.q + b * kBlock;
    lo = _mm256_add_ps(lo, group_block_avx2(g, 0, x, a.d[b], a.s[b]));
    hi = _mm256_add_ps(hi, group_block_avx2(g, 1, x, a.d[b], a.s[b]));
  }
  _mm256_storeu_ps(a.out, lo);
  _mm256_storeu_ps(a.out + 8, hi);
}

// The integer sums Σ c·a of one block of all 16 rows (one int32 lane each) from the 4 nibble
// chunks at `chunks`. Two int32 accumulators keep the chain of vpdpbusd short.
TSGPT_VNNI inline __m512i group_nibble_sums_vnni(const uint8_t* chunks, const int8_t* x) {
  const __m512i mask = _mm512_set1_epi8(0x0F);
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  for (int c = 0; c < 4; c++) {
    const __m512i v = _mm512_loadu_si512(chunks + 64 * c);
    s0 = _mm512_dpbusd_epi32(s0, _mm512_and_si512(v, mask), _mm512_set1_epi32(load_i32(x + 4 * c)));
    s1 = _mm512_dpbusd_epi32(s1, _mm512_and_si512(_mm512_srli_epi16(v, 4), mask), _mm512_set1_epi32(load_i32(x + 16 + 4 * c)));
  }
  return _mm512_add_epi32(s0, s1);
}

// One Q4_0 block of all 16 rows, scaled: 16 float lanes.
TSGPT_VNNI inline __m512 group_block_vnni(const uint8_t* g, const int8_t* x, float dx, int32_t sx) {
  const __m512i s = _mm512_sub_epi32(group_nibble_sums_vnni(g + 32, x), _mm512_set1_epi32(8 * sx));
  const __m512 w = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g)));
  return _mm512_mul_ps(_mm512_mul_ps(w, _mm512_set1_ps(dx)), _mm512_cvtepi32_ps(s));
}

TSGPT_VNNI void group_q4_0_vnni(const GroupArgs& a) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 1 < a.nb; b += 2) {  // two accumulators: independent chains of adds
    acc0 = _mm512_add_ps(acc0, group_block_vnni(a.g + kGroupBlockBytes * b, a.q + b * kBlock, a.d[b], a.s[b]));
    acc1 = _mm512_add_ps(acc1, group_block_vnni(a.g + kGroupBlockBytes * (b + 1), a.q + (b + 1) * kBlock, a.d[b + 1], a.s[b + 1]));
  }
  if (b < a.nb) acc0 = _mm512_add_ps(acc0, group_block_vnni(a.g + kGroupBlockBytes * b, a.q + b * kBlock, a.d[b], a.s[b]));
  _mm512_storeu_ps(a.out, _mm512_add_ps(acc0, acc1));
}

#endif  // __x86_64__

// ---- Q4_K in groups of 16 rows ("q4_kx16") ----
// Per group of 16 rows and per super-block (2304 bytes, exactly 16 plain super-blocks of 144):
//   bytes 0..31      the rows' d (f16), row r at 2r;   bytes 32..63   their dmin
//   bytes 64..255    3 chunks of 64 bytes: chunk t holds packed scale bytes 4t..4t+3 of row r at 4r
//   bytes 256..2303  4 pairs of 512 bytes; in pair p, chunk c (64 bytes) holds nibble bytes
//                    32p + 4c .. +3 of row r at 4r: low nibbles are values 4c..4c+3 of sub-block
//                    2p, high nibbles the same values of sub-block 2p + 1.
constexpr int64_t kGroupSuperBytes = 2304;

void group_q4_k_scalar(const GroupArgs& a) {
  float acc[kGroupRows] = {};
  for (int64_t sb = 0; sb < a.nb / 8; sb++) {
    const uint8_t* g = a.g + kGroupSuperBytes * sb;
    // Integer sums of the 8 sub-blocks of each row, chunk by chunk (see group_q4_0_scalar).
    int32_t s[8][kGroupRows] = {};
    for (int p = 0; p < 4; p++) {
      const int8_t* x0 = a.q + (8 * sb + 2 * p) * kBlock;
      int32_t* lo = s[2 * p];
      int32_t* hi = s[2 * p + 1];
      for (int c = 0; c < 8; c++) {
        const uint8_t* chunk = g + 256 + 512 * p + 64 * c;
        for (int r = 0; r < kGroupRows; r++) {
          for (int t = 0; t < 4; t++) {
            lo[r] += int32_t(chunk[4 * r + t] & 0xF) * x0[4 * c + t];
            hi[r] += int32_t(chunk[4 * r + t] >> 4) * x0[32 + 4 * c + t];
          }
        }
      }
    }
    for (int r = 0; r < kGroupRows; r++) {
      uint8_t scales[12];
      for (int t = 0; t < 12; t++) scales[t] = g[64 + 64 * (t >> 2) + 4 * r + (t & 3)];
      const float d = f16_to_float(load_u16(g + 2 * r)), dmin = f16_to_float(load_u16(g + 32 + 2 * r));
      for (int j = 0; j < 8; j++) {
        int sc, m;
        scale_min_k4(j, scales, &sc, &m);
        const int64_t blk = 8 * sb + j;
        acc[r] += d * float(sc) * a.d[blk] * float(s[j][r]) - dmin * float(m) * a.d[blk] * float(a.s[blk]);
      }
    }
  }
  for (int r = 0; r < kGroupRows; r++) a.out[r] = acc[r];
}

#if defined(__x86_64__)

// Q4_K, 8 rows (h = 0: rows 0..7, h = 1: rows 8..15).
TSGPT_AVX2 inline void group_q4_k_half_avx2(const GroupArgs& a, int h) {
  const __m256i m0F = _mm256_set1_epi8(0x0F), m3F = _mm256_set1_epi8(0x3F), m30 = _mm256_set1_epi8(0x30);
  const __m256i byte = _mm256_set1_epi32(0xFF);
  __m256 acc = _mm256_setzero_ps(), mins = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < a.nb / 8; sb++) {
    const uint8_t* g = a.g + kGroupSuperBytes * sb;
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g + 16 * h)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g + 32 + 16 * h)));
    const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 64 + 32 * h));
    const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 128 + 32 * h));
    const __m256i q2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 192 + 32 * h));
    // The 6-bit scales and mins of the 8 sub-blocks, one byte each (scale_min_k4, vectorized).
    const __m256i sc_lo = _mm256_and_si256(q0, m3F), m_lo = _mm256_and_si256(q1, m3F);
    const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(q2, m0F), _mm256_and_si256(_mm256_srli_epi16(q0, 2), m30));
    const __m256i m_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q2, 4), m0F), _mm256_and_si256(_mm256_srli_epi16(q1, 2), m30));
    __m256 acc_sb = _mm256_setzero_ps(), mins_sb = _mm256_setzero_ps();
    for (int p = 0; p < 4; p++) {
      const int8_t* x0 = a.q + (8 * sb + 2 * p) * kBlock;
      __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
      for (int c = 0; c < 8; c++) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 256 + 512 * p + 64 * c + 32 * h));
        s0 = _mm256_add_epi32(s0, dot_u8s8_avx2(_mm256_and_si256(v, m0F), _mm256_set1_epi32(load_i32(x0 + 4 * c))));
        s1 = _mm256_add_epi32(s1, dot_u8s8_avx2(_mm256_and_si256(_mm256_srli_epi16(v, 4), m0F), _mm256_set1_epi32(load_i32(x0 + 32 + 4 * c))));
      }
      for (int e = 0; e < 2; e++) {
        const int j = 2 * p + e;
        const int64_t blk = 8 * sb + j;
        const __m256i shift = _mm256_set1_epi32(8 * (j & 3));
        const __m256 sc = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srlv_epi32(j < 4 ? sc_lo : sc_hi, shift), byte));
        const __m256 mn = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srlv_epi32(j < 4 ? m_lo : m_hi, shift), byte));
        acc_sb = _mm256_fmadd_ps(_mm256_mul_ps(sc, _mm256_set1_ps(a.d[blk])), _mm256_cvtepi32_ps(e == 0 ? s0 : s1), acc_sb);
        mins_sb = _mm256_fmadd_ps(mn, _mm256_set1_ps(a.d[blk] * float(a.s[blk])), mins_sb);
      }
    }
    acc = _mm256_fmadd_ps(d, acc_sb, acc);
    mins = _mm256_fmadd_ps(dmin, mins_sb, mins);
  }
  _mm256_storeu_ps(a.out + 8 * h, _mm256_sub_ps(acc, mins));
}

TSGPT_AVX2 void group_q4_k_avx2(const GroupArgs& a) {
  group_q4_k_half_avx2(a, 0);
  group_q4_k_half_avx2(a, 1);
}

TSGPT_VNNI void group_q4_k_vnni(const GroupArgs& a) {
  const __m512i m0F = _mm512_set1_epi8(0x0F), m3F = _mm512_set1_epi8(0x3F), m30 = _mm512_set1_epi8(0x30);
  const __m512i byte = _mm512_set1_epi32(0xFF);
  __m512 acc = _mm512_setzero_ps(), mins = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < a.nb / 8; sb++) {
    const uint8_t* g = a.g + kGroupSuperBytes * sb;
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g)));
    const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 32)));
    const __m512i q0 = _mm512_loadu_si512(g + 64), q1 = _mm512_loadu_si512(g + 128), q2 = _mm512_loadu_si512(g + 192);
    const __m512i sc_lo = _mm512_and_si512(q0, m3F), m_lo = _mm512_and_si512(q1, m3F);
    const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(q2, m0F), _mm512_and_si512(_mm512_srli_epi16(q0, 2), m30));
    const __m512i m_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(q2, 4), m0F), _mm512_and_si512(_mm512_srli_epi16(q1, 2), m30));
    __m512 acc_sb = _mm512_setzero_ps(), mins_sb = _mm512_setzero_ps();
    for (int p = 0; p < 4; p++) {
      const int8_t* x0 = a.q + (8 * sb + 2 * p) * kBlock;
      __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
      for (int c = 0; c < 8; c++) {
        // The same line of the next super-block, ahead of the hardware prefetcher: a super-block's
        // long run of work otherwise leaves too few loads in flight once the weights stream from
        // memory (measured: 22 → 28 GB/s on llama-110m's layers, 1 thread; no gain for q4_0x16/q8_0x16).
        _mm_prefetch(reinterpret_cast<const char*>(g + kGroupSuperBytes + 256 + 512 * p + 64 * c), _MM_HINT_T0);
        const __m512i v = _mm512_loadu_si512(g + 256 + 512 * p + 64 * c);
        s0 = _mm512_dpbusd_epi32(s0, _mm512_and_si512(v, m0F), _mm512_set1_epi32(load_i32(x0 + 4 * c)));
        s1 = _mm512_dpbusd_epi32(s1, _mm512_and_si512(_mm512_srli_epi16(v, 4), m0F), _mm512_set1_epi32(load_i32(x0 + 32 + 4 * c)));
      }
      for (int e = 0; e < 2; e++) {
        const int j = 2 * p + e;
        const int64_t blk = 8 * sb + j;
        const __m512i shift = _mm512_set1_epi32(8 * (j & 3));
        const __m512 sc = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srlv_epi32(j < 4 ? sc_lo : sc_hi, shift), byte));
        const __m512 mn = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srlv_epi32(j < 4 ? m_lo : m_hi, shift), byte));
        acc_sb = _mm512_fmadd_ps(_mm512_mul_ps(sc, _mm512_set1_ps(a.d[blk])), _mm512_cvtepi32_ps(e == 0 ? s0 : s1), acc_sb);
        mins_sb = _mm512_fmadd_ps(mn, _mm512_set1_ps(a.d[blk] * float(a.s[blk])), mins_sb);
      }
    }
    acc = _mm512_fmadd_ps(d, acc_sb, acc);
    mins = _mm512_fmadd_ps(dmin, mins_sb, mins);
  }
  _mm512_storeu_ps(a.out, _mm512_sub_ps(acc, mins));
}

#endif  // __x86_64__

#include "quant_q4_1.inc"
#include "quant_q5_0.inc"
#include "quant_q8_0.inc"
#include "quant_q6_k.inc"

// ---- dispatch ----

using DotFn = float (*)(const RowArgs&);

// The quantized kernels' level at the addon's current SIMD level.
QuantLevel current_level() {
  static const bool vnni = cpu_has_avx512_vnni(), f16c = cpu_has_f16c();
  switch (current_simd_level()) {
    case SimdLevel::avx512:
      if (vnni && f16c) return QuantLevel::avx512vnni;
      [[fallthrough]];
    case SimdLevel::avx2:
      if (f16c) return QuantLevel::avx2;
      [[fallthrough]];
    default:
      return QuantLevel::scalar;
  }
}

const char* level_name(QuantLevel l) {
  switch (l) {
    case QuantLevel::avx512vnni: return "avx512vnni";
    case QuantLevel::avx2: return "avx2";
    default: return "scalar";
  }
}

DotFn dot_for(QuantType t, QuantLevel l) {
#if defined(__x86_64__)
  if (l == QuantLevel::avx512vnni) {
    switch (t) {
      case QuantType::q8_0: return dot_q8_0_vnni;
      case QuantType::q4_0: return dot_q4_0_vnni;
      case QuantType::q4_k: return dot_q4_k_vnni;
      case QuantType::q8_row: return dot_q8_row_vnni;
      case QuantType::q5_0: return dot_q5_0_vnni;
      case QuantType::q6_k: return dot_q6_k_vnni;
      case QuantType::q4_1: return dot_q4_1_vnni;
    }
  }
  if (l == QuantLevel::avx2) {
    switch (t) {
      case QuantType::q8_0: return dot_q8_0_avx2;
      case QuantType::q4_0: return dot_q4_0_avx2;
      case QuantType::q4_k: return dot_q4_k_avx2;
      case QuantType::q8_row: return dot_q8_row_avx2;
      case QuantType::q5_0: return dot_q5_0_avx2;
      case QuantType::q6_k: return dot_q6_k_avx2;
      case QuantType::q4_1: return dot_q4_1_avx2;
    }
  }
#endif
  switch (t) {
    case QuantType::q8_0: return dot_q8_0_scalar;
    case QuantType::q4_0: return dot_q4_0_scalar;
    case QuantType::q4_k: return dot_q4_k_scalar;
    case QuantType::q5_0: return dot_q5_0_scalar;
    case QuantType::q6_k: return dot_q6_k_scalar;
    case QuantType::q4_1: return dot_q4_1_scalar;
    default: return dot_q8_row_scalar;
  }
}

using GroupFn = void (*)(const GroupArgs&);

// The grouped kernel of a type that has one (q8_0, q5_0, q4_0, q4_1, q4_k, q6_k).
GroupFn group_for(QuantType t, QuantLevel l) {
#if defined(__x86_64__)
  if (l == QuantLevel::avx512vnni) {
    switch (t) {
      case QuantType::q8_0: return group_q8_0_vnni;
      case QuantType::q5_0: return group_q5_0_vnni;
      case QuantType::q4_0: return group_q4_0_vnni;
      case QuantType::q4_1: return group_q4_1_vnni;
      case QuantType::q4_k: return group_q4_k_vnni;
      default: return group_q6_k_vnni;
    }
  }
  if (l == QuantLevel::avx2) {
    switch (t) {
      case QuantType::q8_0: return group_q8_0_avx2;
      case QuantType::q5_0: return group_q5_0_avx2;
      case QuantType::q4_0: return group_q4_0_avx2;
      case QuantType::q4_1: return group_q4_1_avx2;
      case QuantType::q4_k: return group_q4_k_avx2;
      default: return group_q6_k_avx2;
    }
  }
#endif
  (void)l;
  switch (t) {
    case QuantType::q8_0: return group_q8_0_scalar;
    case QuantType::q5_0: return group_q5_0_scalar;
    case QuantType::q4_0: return group_q4_0_scalar;
    case QuantType::q4_1: return group_q4_1_scalar;
    case QuantType::q4_k: return group_q4_k_scalar;
    default: return group_q6_k_scalar;
  }
}

// Bytes of one weight row of k values; the row multiple of k.
int64_t row_bytes(QuantType t, int64_t k) {
  switch (t) {
    case QuantType::q8_0: return k / 32 * 34;
    case QuantType::q4_0: return k / 32 * 18;
    case QuantType::q4_1: return k / 32 * 20;
    case QuantType::q4_k: return k / 256 * 144;
    case QuantType::q5_0: return k / 32 * 22;
    case QuantType::q6_k: return k / 256 * 210;
    default: return k;
  }
}
int64_t row_multiple(QuantType t) { return t == QuantType::q4_k || t == QuantType::q6_k ? 256 : 32; }

// ---- arguments (checked with args.h: JS errors, never memory outside a buffer) ----

// The dtype names of src/backend/quant_blocks.ts.
bool parse_quant_type(const std::string& name, QuantType* t) {
  static const struct { const char* name; QuantType type; } kNames[] = {
      {"Q8_0", QuantType::q8_0}, {"Q4_0", QuantType::q4_0}, {"Q4_K", QuantType::q4_k}, {"Q8_ROW", QuantType::q8_row},
      {"Q5_0", QuantType::q5_0}, {"Q6_K", QuantType::q6_k}, {"Q4_1", QuantType::q4_1},
  };
  for (const auto& e : kNames) {
    if (name == e.name) {
      *t = e.type;
      return true;
    }
  }
  return false;
}

// The checked buffers and sizes of a quantMatmul call: k fits the block, w has exactly the bytes
// of n rows (plus n f32 scales for Q8_ROW), x and out are large enough.
struct MatmulArgs {
  const float* x;
  int64_t m, k;
  const uint8_t* w;
  int64_t n;
  float* out;
  int64_t rb;  // bytes per weight row
};

MatmulArgs matmul_args(const Args& args, QuantType type) {
  const Span<float> x = args.f32(2, "x");
  const int64_t m = args.size(3, "m"), k = args.size(4, "k");
  const Span<uint8_t> w = args.u8(5, "w");
  const int64_t n = args.size(6, "n");
  const Span<float> out = args.f32(7, "out");
  if (k == 0 || k % row_multiple(type) != 0)
    args.range_error("k = " + std::to_string(k) + " is not a positive multiple of " + std::to_string(row_multiple(type)));
  const int64_t rb = row_bytes(type, k);
  const int64_t w_needed = args.add(args.mul(n, rb), type == QuantType::q8_row ? args.mul(n, 4) : 0);
  if (w.len != w_needed) args.range_error("w has " + std::to_string(w.len) + " bytes, expected " + std::to_string(w_needed));
  args.require(x, args.mul(m, k), "x");
  args.require(out, args.mul(m, n), "out");
  return MatmulArgs{x.data, m, k, w.data, n, out.data, rb};
}

// W in the plain layout: row after row.
void RowsMatmul(const MatmulArgs& args, QuantType type) {
  const float* x = args.x;
  const int64_t m = args.m, k = args.k, n = args.n, rb = args.rb;
  const uint8_t* w = args.w;
  float* out = args.out;
  if (m == 0 || n == 0) return;

  Acts acts;
  quantize_acts(x, m, k, current_level(), false, &acts);
  const DotFn dot = dot_for(type, current_level());
  const int64_t nb = k / kBlock;
  const float* row_scales = nullptr;
  std::vector<float> scales;
  if (type == QuantType::q8_row) {  // f32 scales after the codes (may be unaligned: copy)
    scales.resize(size_t(n));
    std::memcpy(scales.data(), w + n * k, size_t(n) * 4);
    row_scales = scales.data();
  }
  // Split the output features over threads; each task does every row of x for its features.
  const int64_t min_chunk = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, k * m));
  parallel_range(n, min_chunk, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      for (int64_t i = 0; i < m; i++) {
        RowArgs a{w + r * rb, acts.q.data() + i * k, acts.d.data() + i * nb, acts.s.data() + i * nb, nb, nullptr};
        float v = dot(a);
        if (row_scales) v *= row_scales[r];
        out[i * n + r] = v;
      }
    }
  });
}

// W in a 16-row group layout (groups of 16 rows, then the n % 16 last rows plain; the same byte
// count as the plain matrix).
void GroupedMatmul(const MatmulArgs& args, QuantType type) {
  const float* x = args.x;
  const int64_t m = args.m, k = args.k, n = args.n, rb = args.rb;
  const uint8_t* w = args.w;
  float* out = args.out;
  if (m == 0 || n == 0) return;

  Acts acts;
  quantize_acts(x, m, k, current_level(), type == QuantType::q6_k, &acts);
  const GroupFn group = group_for(type, current_level());
  const DotFn dot = dot_for(type, current_level());
  const int64_t nb = k / kBlock;
  const int64_t groups = n / kGroupRows;
  // Units of work: each group, then (if any) the plain tail rows as one more unit.
  const int64_t units = groups + (n % kGroupRows > 0 ? 1 : 0);
  const int64_t min_chunk = std::max<int64_t>(1, 2048 / std::max<int64_t>(1, k * m));
  parallel_range(units, min_chunk, [&](int64_t begin, int64_t end) {
    float tmp[kGroupRows];
    for (int64_t u = begin; u < end; u++) {
      for (int64_t i = 0; i < m; i++) {
        const int8_t* q = acts.q.data() + i * k;
        const float* d = acts.d.data() + i * nb;
        const int32_t* s = acts.s.data() + i * nb;
        const int32_t* s16 = acts.s16.empty() ? nullptr : acts.s16.data() + 2 * i * nb;
        if (u < groups) {
          group(GroupArgs{w + u * kGroupRows * rb, q, d, s, nb, tmp, s16});
          std::memcpy(out + i * n + u * kGroupRows, tmp, sizeof tmp);
        } else {
          for (int64_t r = groups * kGroupRows; r < n; r++) out[i * n + r] = dot(RowArgs{w + r * rb, q, d, s, nb, s16});
        }
      }
    }
  });
}

// quantMatmul(dtype: string, grouped: boolean, x: Float32Array, m, k, w: Uint8Array, n,
// out: Float32Array): out (m × n) = x (m × k) · Wᵀ, W (n × k) of `dtype`, plain or 16-row grouped.
Napi::Value QuantMatmul(const Napi::CallbackInfo& info) {
  const Args first(info, "quantMatmul", 8);
  if (!info[0].IsString()) first.type_error("dtype must be a string");
  const std::string dtype = info[0].As<Napi::String>().Utf8Value();
  QuantType type;
  if (!parse_quant_type(dtype, &type))
    first.range_error("dtype must be one of Q8_0, Q6_K, Q5_0, Q4_1, Q4_0, Q4_K, Q8_ROW, got \"" + dtype + "\"");
  const bool grouped = first.boolean(1, "grouped");
  if (grouped && type == QuantType::q8_row) first.range_error("Q8_ROW has no grouped16 layout");
  // Errors name the call, e.g. "quantMatmul(Q4_K, grouped16): k = 64 is not a positive multiple of 256".
  const std::string label = "quantMatmul(" + dtype + (grouped ? ", grouped16)" : ", rows)");
  const Args args(info, label.c_str(), 8);
  const MatmulArgs m = matmul_args(args, type);
  if (grouped) GroupedMatmul(m, type);
  else RowsMatmul(m, type);
  return info.Env().Undefined();
}

Napi::Value QuantKernelLevel(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), level_name(current_level()));
}

}  // namespace

void RegisterQuantKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("quantMatmul", Napi::Function::New(env, QuantMatmul, "quantMatmul"));
  exports.Set("quantKernelLevel", Napi::Function::New(env, QuantKernelLevel, "quantKernelLevel"));
}

}  // namespace tsgpt
