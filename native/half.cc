// Linear layers with 16-bit weights: the entry (linear_half), its split over the thread pool,
// the choice of kernels for the current SIMD level, and the portable kernels.
//
//   m == 1 (decode): each thread streams its share of weight rows and takes dot products with
//     x directly; nothing is written but the outputs, so the cost is reading the 16-bit weights.
//   m > 1 (prefill): each task widens a block of weight rows to f32 into a per-thread scratch
//     buffer (small enough to stay in cache) and multiplies x by it with the f32 gemm kernel of
//     the current level, so each widened row serves all m rows of x.
#include "half.h"

#include <cstring>

#include "cpu_features.h"
#include "gemm.h"
#include "thread_pool.h"

namespace tsgpt {
namespace {

// ---- portable kernels ----

template <HalfType T>
inline float widen_one(uint16_t h) {
  return T == HalfType::bf16 ? bf16_to_float(h) : f16_to_float(h);
}

template <HalfType T>
void generic_dot_rows(const float* x, int64_t k, const uint16_t* w, int64_t rows, float* y) {
  for (int64_t j = 0; j < rows; j++) {
    const uint16_t* row = w + j * k;
    // Four partial sums: independent chains the compiler can keep in flight.
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
      s0 += x[p] * widen_one<T>(row[p]);
      s1 += x[p + 1] * widen_one<T>(row[p + 1]);
      s2 += x[p + 2] * widen_one<T>(row[p + 2]);
      s3 += x[p + 3] * widen_one<T>(row[p + 3]);
    }
    for (; p < k; p++) s0 += x[p] * widen_one<T>(row[p]);
    y[j] = (s0 + s1) + (s2 + s3);
  }
}

template <HalfType T>
void generic_widen(const uint16_t* src, float* dst, int64_t count) {
  for (int64_t i = 0; i < count; i++) dst[i] = widen_one<T>(src[i]);
}

void generic_run_dot_rows(HalfType type, const float* x, int64_t k, const uint16_t* w, int64_t rows, float* y) {
  if (type == HalfType::bf16) generic_dot_rows<HalfType::bf16>(x, k, w, rows, y);
  else generic_dot_rows<HalfType::f16>(x, k, w, rows, y);
}

void generic_run_widen(HalfType type, const uint16_t* src, float* dst, int64_t count) {
  if (type == HalfType::bf16) generic_widen<HalfType::bf16>(src, dst, count);
  else generic_widen<HalfType::f16>(src, dst, count);
}

// ---- dispatch ----

// The kernels of the current SIMD level, falling back to the next level down when a level's
// 16-bit kernels are missing from this build. The AVX2 kernels also need F16C (vcvtph2ps),
// which the avx2 level itself does not imply.
HalfKernels current_half_kernels() {
  static const bool f16c = cpu_has_f16c();
  HalfKernels k{nullptr, nullptr};
  switch (current_simd_level()) {
    case SimdLevel::avx512:
      k = half_kernels_avx512();
      if (k.dot_rows) return k;
      [[fallthrough]];
    case SimdLevel::avx2:
      if (f16c) k = half_kernels_avx2();
      if (k.dot_rows) return k;
      [[fallthrough]];
    default:
      return half_kernels_generic();
  }
}

// Scratch slot for the widened weight block (the gemm kernels pack into slots 0 and 1).
constexpr int kWidenSlot = 2;
// Target size of one widened block: 64 Ki floats = 256 KiB, which stays in L2.
constexpr int64_t kBlockElements = int64_t(1) << 16;
// A decode task covers at least this many weight elements, so tiny layers stay on one thread.
constexpr int64_t kMinTaskElements = int64_t(1) << 15;

void decode(const HalfKernels& hk, HalfType type, const float* x, int64_t k, const uint16_t* w, int64_t n,
            float* out) {
  int64_t min_rows = kMinTaskElements / k;
  if (min_rows < 4) min_rows = 4;
  parallel_range(n, min_rows, [&](int64_t r0, int64_t r1) { hk.dot_rows(type, x, k, w + r0 * k, r1 - r0, out + r0); });
}

void prefill(const HalfKernels& hk, HalfType type, const float* x, int64_t m, int64_t k, const uint16_t* w,
             int64_t n, float* out) {
  const GemmKernels gk = current_gemm_kernels();
  const int64_t nr = gk.nr > 0 ? gk.nr : 1;
  // Whole micro-kernel panels per block, at least one.
  int64_t block_rows = kBlockElements / k / nr * nr;
  if (block_rows < nr) block_rows = nr;
  const int64_t blocks = (n + block_rows - 1) / block_rows;
  parallel_range(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t r0 = b * block_rows;
      const int64_t rows = n - r0 < block_rows ? n - r0 : block_rows;
      float* block = scratch_buffer(kWidenSlot, size_t(rows * k));
      hk.widen(type, w + r0 * k, block, rows * k);
      // out[:, r0:r0+rows] = x · blockᵀ: B(p, j) = block[j·k + p].
      GemmTask t;
      t.m = m;
      t.n = rows;
      t.k = k;
      t.a = x;
      t.a_rs = k;
      t.a_cs = 1;
      t.b = block;
      t.b_rs = 1;
      t.b_cs = k;
      t.c = out + r0;
      t.ldc = n;
      t.accumulate = false;
      gk.gemm(t);
    }
  });
}

}  // namespace

HalfKernels half_kernels_generic() { return {generic_run_dot_rows, generic_run_widen}; }

void linear_half(HalfType type, const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t n, float* out) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // empty dot products
    std::memset(out, 0, sizeof(float) * size_t(m * n));
    return;
  }
  const HalfKernels hk = current_half_kernels();
  if (m == 1) decode(hk, type, x, k, w, n, out);
  else prefill(hk, type, x, m, k, w, n, out);
}

}  // namespace tsgpt
