// Embedding lookup and its gradient. Ids are validated by the caller (addon.cc).
#include <cstring>

#include "kernels.h"
#include "thread_pool.h"

namespace tsgpt {

void embedding(const float* weight, int64_t dim, const int32_t* ids, int64_t n, float* out) {
  const int64_t min_rows = dim >= (1 << 14) ? 1 : (1 << 14) / (dim > 0 ? dim : 1);
  parallel_range(n, min_rows, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      std::memcpy(out + i * dim, weight + int64_t(ids[i]) * dim, size_t(dim) * sizeof(float));
  });
}

void embedding_backward(const float* gy, const int32_t* ids, int64_t n, int64_t dim, float* gw) {
  // Repeated ids add into the same row, so rows are not split over threads; the columns are.
  const int64_t min_cols = n * dim >= (1 << 15) ? 64 : dim;
  parallel_range(dim, min_cols, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < n; i++) {
      float* row = gw + int64_t(ids[i]) * dim;
      const float* g = gy + i * dim;
      for (int64_t c = c0; c < c1; c++) row[c] += g[c];
    }
  });
}

}  // namespace tsgpt
