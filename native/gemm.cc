// Matmul entry: picks the path (matrix-vector or packed gemm), splits the work into tasks
// for the thread pool, and runs the kernels of the current instruction set.
#include "gemm.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "cpu_features.h"
#include "thread_pool.h"

namespace tsgpt {

namespace {

constexpr int kSlots = 4;

// Per-thread packing buffers, grown on demand and freed when the thread exits.
struct ScratchSlots {
  float* ptr[kSlots] = {};
  size_t cap[kSlots] = {};
  ~ScratchSlots() {
    for (int i = 0; i < kSlots; i++) std::free(ptr[i]);
  }
};

thread_local ScratchSlots scratch;

void* aligned_alloc64(size_t bytes) {
  void* p = nullptr;
#if defined(_WIN32)
  p = _aligned_malloc(bytes, 64);
#else
  if (posix_memalign(&p, 64, bytes) != 0) p = nullptr;
#endif
  if (!p) throw std::bad_alloc();
  return p;
}

// Work below this many multiply-adds runs on the calling thread.
constexpr int64_t kParallelMinFlops = 1 << 16;

struct GemmJob {
  GemmArgs args;
  GemmKernels kernels;
  int64_t a_rs, a_cs, b_rs, b_cs;
  int64_t m_splits, n_splits;  // tiles per batch item
  int64_t m_unit, n_unit;      // tile boundaries are multiples of these
};

int64_t split_point(int64_t size, int64_t unit, int64_t parts, int64_t i) {
  int64_t units = (size + unit - 1) / unit;
  int64_t u = units * i / parts;
  int64_t at = u * unit;
  return at < size ? at : size;
}

void gemm_task(void* ctx, int64_t t) {
  const GemmJob& j = *static_cast<const GemmJob*>(ctx);
  const GemmArgs& g = j.args;
  const int64_t per_batch = j.m_splits * j.n_splits;
  const int64_t bi = t / per_batch, r = t % per_batch;
  const int64_t mi = r / j.n_splits, ni = r % j.n_splits;
  const int64_t m0 = split_point(g.m, j.m_unit, j.m_splits, mi), m1 = split_point(g.m, j.m_unit, j.m_splits, mi + 1);
  const int64_t n0 = split_point(g.n, j.n_unit, j.n_splits, ni), n1 = split_point(g.n, j.n_unit, j.n_splits, ni + 1);
  if (m0 >= m1 || n0 >= n1) return;
  GemmTask task;
  task.m = m1 - m0;
  task.n = n1 - n0;
  task.k = g.k;
  task.a = g.a + bi * g.a_batch_stride + m0 * j.a_rs;
  task.a_rs = j.a_rs;
  task.a_cs = j.a_cs;
  task.b = g.b + bi * g.b_batch_stride + n0 * j.b_cs;
  task.b_rs = j.b_rs;
  task.b_cs = j.b_cs;
  task.ldc = g.n;
  task.c = g.c + bi * g.m * g.n + m0 * g.n + n0;
  task.accumulate = g.accumulate;
  j.kernels.gemm(task);
}

void gemv_task(void* ctx, int64_t t) {
  const GemmJob& j = *static_cast<const GemmJob*>(ctx);
  const GemmArgs& g = j.args;
  const int64_t bi = t / j.n_splits, ni = t % j.n_splits;
  GemvTask v;
  v.accumulate = g.accumulate;
  v.k = g.k;
  if (g.m == 1) {
    // y (1×n) = x (1×k) · B: x is row 0 of A (contiguous whether or not A is transposed).
    const int64_t n0 = split_point(g.n, j.n_unit, j.n_splits, ni), n1 = split_point(g.n, j.n_unit, j.n_splits, ni + 1);
    if (n0 >= n1) return;
    v.n = n1 - n0;
    v.x = g.a + bi * g.a_batch_stride;
    v.mat = g.b + bi * g.b_batch_stride + n0 * j.b_cs;
    v.rs = j.b_rs;
    v.cs = j.b_cs;
    v.y = g.c + bi * g.n + n0;
  } else {
    // n == 1: y (m) = A · x with x the single column of B (contiguous); M(p,i) = A(i,p).
    const int64_t m0 = split_point(g.m, j.n_unit, j.n_splits, ni), m1 = split_point(g.m, j.n_unit, j.n_splits, ni + 1);
    if (m0 >= m1) return;
    v.n = m1 - m0;
    v.x = g.b + bi * g.b_batch_stride;
    v.mat = g.a + bi * g.a_batch_stride + m0 * j.a_rs;
    v.rs = j.a_cs;
    v.cs = j.a_rs;
    v.y = g.c + bi * g.m + m0;
  }
  j.kernels.gemv(v);
}

}  // namespace

float* scratch_buffer(int slot, size_t floats) {
  if (scratch.cap[slot] < floats) {
    std::free(scratch.ptr[slot]);
    scratch.ptr[slot] = nullptr;
    scratch.cap[slot] = 0;
    scratch.ptr[slot] = static_cast<float*>(aligned_alloc64(floats * sizeof(float)));
    scratch.cap[slot] = floats;
  }
  return scratch.ptr[slot];
}

void gemm(const GemmArgs& g) {
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) {
    if (!g.accumulate) std::memset(g.c, 0, sizeof(float) * size_t(g.batch * g.m * g.n));
    return;
  }
  GemmJob job;
  job.args = g;
  job.kernels = current_gemm_kernels();
  // Element strides of A(i,p) and B(p,j).
  job.a_rs = g.trans_a ? 1 : g.k;
  job.a_cs = g.trans_a ? g.m : 1;
  job.b_rs = g.trans_b ? 1 : g.n;
  job.b_cs = g.trans_b ? g.k : 1;

  const int64_t threads = num_threads();
  const int64_t flops = g.batch * g.m * g.n * g.k;
  const bool parallel = threads > 1 && flops >= kParallelMinFlops;
  // Each task is a tile of one batch item. When the batch alone does not spread evenly over
  // the threads, tiles split the bigger of M and N so every thread gets a share.
  const bool batch_spreads = g.batch % threads == 0 || g.batch >= 4 * threads;
  const int64_t splits = parallel && !batch_spreads ? threads : 1;

  if (g.m == 1 || g.n == 1) {
    const int64_t len = g.m == 1 ? g.n : g.m;
    job.m_splits = 1;
    job.m_unit = 1;
    job.n_unit = 64;
    // Memory-bound and nothing is packed, so finer chunks cost nothing: 4 per thread lets a
    // thread that wakes late still take a share instead of leaving it all to the caller.
    const int64_t want = parallel && g.batch < 4 * threads ? 4 * threads : 1;
    const int64_t chunks = len / 64 > 0 ? len / 64 : 1;
    job.n_splits = want < chunks ? want : chunks;
    parallel_for(g.batch * job.n_splits, gemv_task, &job);
    return;
  }
  job.m_unit = job.kernels.mr;
  job.n_unit = job.kernels.nr;
  job.m_splits = 1;
  job.n_splits = 1;
  if (splits > 1) {
    const int64_t m_blocks = (g.m + job.m_unit - 1) / job.m_unit;
    const int64_t n_blocks = (g.n + job.n_unit - 1) / job.n_unit;
    if (n_blocks >= m_blocks) job.n_splits = n_blocks < splits ? n_blocks : splits;
    else job.m_splits = m_blocks < splits ? m_blocks : splits;
  }
  parallel_for(g.batch * job.m_splits * job.n_splits, gemm_task, &job);
}

}  // namespace tsgpt
