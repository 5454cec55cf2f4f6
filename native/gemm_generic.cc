// Portable matmul kernels: plain C++ loops the compiler vectorizes for the baseline
// instruction set of the target (SSE2 on x86-64, NEON on arm64).
#include "gemm.h"

namespace tsgpt {
namespace generic {

constexpr int MR = 4;
constexpr int NR = 16;
constexpr int64_t KC = 256;
constexpr int64_t MC = 64;
constexpr int64_t NC = 2048;

static inline void micro_kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool beta) {
  float acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; p++) {
    for (int i = 0; i < MR; i++) {
      const float a = ap[p * MR + i];
      for (int j = 0; j < NR; j++) acc[i][j] += a * bp[p * NR + j];
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) c[i * ldc + j] = (beta ? c[i * ldc + j] : 0.0f) + acc[i][j];
}

static void pack_a_rows(int64_t kc, const float* src, int64_t rs, float* ap) {
  for (int64_t p = 0; p < kc; p++)
    for (int i = 0; i < MR; i++) ap[p * MR + i] = src[i * rs + p];
}

static void pack_b_cols(int64_t kc, const float* src, int64_t cs, float* bp) {
  for (int64_t p = 0; p < kc; p++)
    for (int j = 0; j < NR; j++) bp[p * NR + j] = src[j * cs + p];
}

// acc[j] += Σ_p x[p]·m[p*rs + j]: four rows per pass over acc.
static void gemv_rows(int64_t jb, int64_t k, const float* x, const float* m, int64_t rs, float* acc) {
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    const float x0 = x[p], x1 = x[p + 1], x2 = x[p + 2], x3 = x[p + 3];
    const float* r0 = m + p * rs;
    const float* r1 = r0 + rs;
    const float* r2 = r1 + rs;
    const float* r3 = r2 + rs;
    for (int64_t j = 0; j < jb; j++) acc[j] += x0 * r0[j] + x1 * r1[j] + x2 * r2[j] + x3 * r3[j];
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

}  // namespace generic

GemmKernels gemm_kernels_generic() { return {generic::run_gemm, generic::run_gemv, generic::MR, generic::NR}; }

}  // namespace tsgpt
