// Matrix multiplication: the public entry (gemm) and the per-ISA kernels behind it.
#pragma once
#include <cstdint>
#include <cstddef>

namespace tsgpt {

/** Batched C = op(A)·op(B) (+ C when accumulate). Pointers already include the offsets. */
struct GemmArgs {
  int64_t batch, m, n, k;
  const float* a; int64_t a_batch_stride; bool trans_a;
  const float* b; int64_t b_batch_stride; bool trans_b;
  float* c; bool accumulate;
};

void gemm(const GemmArgs& args);

/**
 * One single-matrix product on a sub-block, with element strides:
 * A(i,p) = a[i*a_rs + p*a_cs], B(p,j) = b[p*b_rs + j*b_cs], C(i,j) = c[i*ldc + j].
 */
struct GemmTask {
  int64_t m, n, k;
  const float* a; int64_t a_rs, a_cs;
  const float* b; int64_t b_rs, b_cs;
  float* c; int64_t ldc;
  bool accumulate;
};

/** y[j] (+)= Σ_p x[p] · M(p,j) with M(p,j) = mat[p*rs + j*cs], x contiguous, for j < n. */
struct GemvTask {
  int64_t n, k;
  const float* x;
  const float* mat; int64_t rs, cs;
  float* y;
  bool accumulate;
};

/** The kernels of one instruction set. */
struct GemmKernels {
  void (*gemm)(const GemmTask&);
  void (*gemv)(const GemvTask&);
  int mr, nr;
};

// Each returns {nullptr, ...} when its instruction set was not compiled in.
GemmKernels gemm_kernels_avx512();
GemmKernels gemm_kernels_avx2();
GemmKernels gemm_kernels_generic();

/**
 * A per-thread, 64-byte-aligned scratch buffer of at least `floats` floats; `slot` picks one
 * of a few independent buffers (packed A, packed B, ...). Lives until the thread exits.
 */
float* scratch_buffer(int slot, size_t floats);

}  // namespace tsgpt
