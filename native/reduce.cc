// Reductions over the middle axis of a contiguous (outer, size, inner) array.
// Sums accumulate in double (as the js backend does), so long rows stay accurate.
#include <cmath>

#include "kernels.h"
#include "thread_pool.h"

namespace tsgpt {
namespace {

constexpr int64_t kReduceChunk = 1 << 15;  // elements per parallel chunk, at least
constexpr int64_t kInnerBlock = 256;       // columns reduced together when inner > 1

inline float combine(int op, float acc, float v) {
  if (acc != acc) return acc;  // NaN propagates
  if (v != v) return v;
  if (op == kMax) return v > acc ? v : acc;
  return v < acc ? v : acc;
}

// out[o] = op over the `size` contiguous values of row o (inner == 1).
void reduce_rows(int op, const float* x, int64_t outer, int64_t size, float* out) {
  const int64_t min_rows = size >= kReduceChunk ? 1 : kReduceChunk / size;
  parallel_range(outer, min_rows, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; o++) {
      const float* row = x + o * size;
      if (op == kSum) {
        double part[8] = {0};  // independent partial sums vectorize
        int64_t s = 0;
        for (; s + 8 <= size; s += 8)
          for (int l = 0; l < 8; l++) part[l] += row[s + l];
        double acc = 0;
        for (int l = 0; l < 8; l++) acc += part[l];
        for (; s < size; s++) acc += row[s];
        out[o] = float(acc);
      } else {
        float acc = row[0];
        for (int64_t s = 1; s < size; s++) acc = combine(op, acc, row[s]);
        out[o] = acc;
      }
    }
  });
}

// inner > 1: walk the middle axis with a block of columns accumulated side by side.
void reduce_strided(int op, const float* x, int64_t outer, int64_t size, int64_t inner, float* out) {
  const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  const int64_t per_unit = size * (inner < kInnerBlock ? inner : kInnerBlock);
  const int64_t min_units = per_unit >= kReduceChunk ? 1 : kReduceChunk / per_unit;
  parallel_range(outer * blocks, min_units, [&](int64_t u0, int64_t u1) {
    double acc[kInnerBlock];
    float facc[kInnerBlock];
    for (int64_t u = u0; u < u1; u++) {
      const int64_t o = u / blocks, j0 = (u % blocks) * kInnerBlock;
      const int64_t jb = inner - j0 < kInnerBlock ? inner - j0 : kInnerBlock;
      const float* base = x + o * size * inner + j0;
      if (op == kSum) {
        for (int64_t j = 0; j < jb; j++) acc[j] = 0;
        for (int64_t s = 0; s < size; s++)
          for (int64_t j = 0; j < jb; j++) acc[j] += base[s * inner + j];
        for (int64_t j = 0; j < jb; j++) out[o * inner + j0 + j] = float(acc[j]);
      } else {
        for (int64_t j = 0; j < jb; j++) facc[j] = base[j];
        for (int64_t s = 1; s < size; s++)
          for (int64_t j = 0; j < jb; j++) facc[j] = combine(op, facc[j], base[s * inner + j]);
        for (int64_t j = 0; j < jb; j++) out[o * inner + j0 + j] = facc[j];
      }
    }
  });
}

}  // namespace

void reduce(int op, const float* x, int64_t outer, int64_t size, int64_t inner, float* out) {
  if (outer <= 0 || inner <= 0) return;
  if (size <= 0) {
    // An empty reduction: sum is 0; max/min of nothing is -inf/+inf.
    const float v = op == kSum ? 0.0f : (op == kMax ? -INFINITY : INFINITY);
    for (int64_t i = 0; i < outer * inner; i++) out[i] = v;
    return;
  }
  if (inner == 1) reduce_rows(op, x, outer, size, out);
  else reduce_strided(op, x, outer, size, inner, out);
}

void arg_reduce(int op, const float* x, int64_t outer, int64_t size, int64_t inner, int32_t* out) {
  if (outer <= 0 || inner <= 0 || size <= 0) return;
  const int64_t work = size * inner;
  const int64_t min_outer = work >= kReduceChunk ? 1 : kReduceChunk / work;
  parallel_range(outer, min_outer, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; o++) {
      for (int64_t j = 0; j < inner; j++) {
        const float* p = x + o * size * inner + j;
        float best = p[0];
        int64_t at = 0;
        // Strict comparison keeps the first index on ties; a NaN counts as the extreme
        // value, so the first NaN wins (as torch.argmax).
        for (int64_t s = 1; s < size && best == best; s++) {
          const float v = p[s * inner];
          if (v != v || (op == kArgmax ? v > best : v < best)) { best = v; at = s; }
        }
        out[o * inner + j] = int32_t(at);
      }
    }
  });
}

}  // namespace tsgpt
