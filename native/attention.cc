// Attention over a KV cache: the native backend's attention (src/backend/js_attention.ts is the
// readable reference; AttentionArgs in src/backend/backend.ts the contract).
//
// The work is cut into independent tasks of (row b, key/value head g, chunk of up to kChunk new
// tokens), spread over the thread pool; each task runs on one thread with the current SIMD
// level's gemm kernels:
//
//   Q = the chunk's queries of the `group` heads that share g      (rows × hd, rows = tn · group)
//   S = Q · Kᵀ over the slots 0 … len - 1 the chunk's last token sees
//   S = scale · S with future and padding slots left out, softmax per row (a row that sees no
//       slot at all gets all-zero weights, so its output is 0)
//   O = S · V, written to the rows of out
//
// With one query row (decode without grouped-query heads) both products are matrix-vector
// products. Chunking bounds S at kChunk · group · len floats and lets a long prefill score only
// the slots each chunk can see.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu_features.h"
#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"

namespace tsgpt {
namespace {

constexpr int64_t kChunk = 128;
// When one task's product has fewer multiply-adds than this, the call runs on the calling thread
// (gemm's threshold for one matrix product: waking the pool costs more than a short decode
// step's attention).
constexpr int64_t kParallelMinFlops = int64_t(1) << 16;

// Per-thread buffers, grown on demand (the gemm kernels own the scratch_buffer slots).
struct Buffers {
  std::vector<float> q, s, o;
};
thread_local Buffers buffers;

float* grow(std::vector<float>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
  return v.data();
}

// out (rows × n) = a (rows × k, row-major) · B, B(p, j) = b[p · b_rs + j · b_cs].
void product(const GemmKernels& gk, int64_t rows, int64_t n, int64_t k, const float* a, const float* b, int64_t b_rs,
             int64_t b_cs, float* out) {
  if (rows == 1) {
    GemvTask t;
    t.n = n;
    t.k = k;
    t.x = a;
    t.mat = b;
    t.rs = b_rs;
    t.cs = b_cs;
    t.y = out;
    t.accumulate = false;
    gk.gemv(t);
    return;
  }
  GemmTask t;
  t.m = rows;
  t.n = n;
  t.k = k;
  t.a = a;
  t.a_rs = k;
  t.a_cs = 1;
  t.b = b;
  t.b_rs = b_rs;
  t.b_cs = b_cs;
  t.c = out;
  t.ldc = n;
  t.accumulate = false;
  gk.gemm(t);
}

// Scales, masks and normalizes one row of scores in place: slots s ≤ last with valid[s] get
// softmax weights, every other slot of the row (len of them) gets 0.
void softmax_row(float* row, int64_t len, int64_t last, const uint8_t* valid, float scale) {
  float max = -INFINITY;
  bool any = false;
  for (int64_t s = 0; s <= last; s++) {
    if (!valid[s]) continue;
    row[s] *= scale;
    if (!any || row[s] > max) max = row[s];
    any = true;
  }
  if (!any) {
    std::memset(row, 0, sizeof(float) * size_t(len));
    return;
  }
  double sum = 0;
  for (int64_t s = 0; s <= last; s++) {
    if (valid[s]) {
      row[s] = std::exp(row[s] - max);
      sum += row[s];
    } else {
      row[s] = 0.0f;
    }
  }
  const float inv = float(1.0 / sum);
  for (int64_t s = 0; s <= last; s++) row[s] *= inv;
  for (int64_t s = last + 1; s < len; s++) row[s] = 0.0f;
}

struct Job {
  AttentionShape sh;
  const float *q, *keys, *values;
  const uint8_t* valid;
  float* out;
  GemmKernels gk;
  int64_t chunks;  // query chunks per (row, head)
};

void run_task(const Job& j, int64_t task) {
  const AttentionShape& sh = j.sh;
  const int64_t hd = sh.head_dim, group = sh.heads / sh.kv_heads, q_dim = sh.heads * hd;
  const int64_t c = task % j.chunks, bg = task / j.chunks, g = bg % sh.kv_heads, b = bg / sh.kv_heads;
  const int64_t t0 = c * kChunk, tn = std::min(kChunk, sh.steps - t0), rows = tn * group;
  const int64_t len = sh.start + t0 + tn;  // the chunk's last token sees slots 0 … len - 1
  const float* k = j.keys + (b * sh.kv_heads + g) * sh.capacity * hd;
  const float* v = j.values + (b * sh.kv_heads + g) * sh.capacity * hd;
  const uint8_t* valid = j.valid + b * sh.capacity;

  // Q: the group's query heads of each token, one after the other (already contiguous per token).
  float* q = grow(buffers.q, rows * hd);
  for (int64_t t = 0; t < tn; t++) {
    std::memcpy(q + t * group * hd, j.q + (b * sh.steps + t0 + t) * q_dim + g * group * hd, sizeof(float) * size_t(group * hd));
  }
  float* s = grow(buffers.s, rows * len);
  product(j.gk, rows, len, hd, q, k, 1, hd, s);  // S = Q · Kᵀ: B(p, slot) = k[slot · hd + p]
  for (int64_t r = 0; r < rows; r++) softmax_row(s + r * len, len, sh.start + t0 + r / group, valid, sh.scale);
  float* o = grow(buffers.o, rows * hd);
  product(j.gk, rows, hd, len, s, v, hd, 1, o);  // O = P · V: B(slot, i) = v[slot · hd + i]
  for (int64_t t = 0; t < tn; t++) {
    std::memcpy(j.out + (b * sh.steps + t0 + t) * q_dim + g * group * hd, o + t * group * hd, sizeof(float) * size_t(group * hd));
  }
}

}  // namespace

void attention(const AttentionShape& sh, const float* q, const float* keys, const float* values, const uint8_t* valid,
               float* out) {
  if (sh.batch <= 0 || sh.steps <= 0 || sh.heads <= 0) return;
  if (sh.head_dim <= 0) return;  // empty heads: nothing to write
  Job job{sh, q, keys, values, valid, out, current_gemm_kernels(), (sh.steps + kChunk - 1) / kChunk};
  const int64_t tasks = sh.batch * sh.kv_heads * job.chunks;
  // Q · Kᵀ of the largest task (an upper bound for prefill).
  const int64_t task_flops = std::min(kChunk, sh.steps) * (sh.heads / sh.kv_heads) * (sh.start + sh.steps) * sh.head_dim;
  if (task_flops < kParallelMinFlops || num_threads() == 1) {
    for (int64_t t = 0; t < tasks; t++) run_task(job, t);
    return;
  }
  parallel_for(tasks, [](void* ctx, int64_t t) { run_task(*static_cast<const Job*>(ctx), t); }, &job);
}

}  // namespace tsgpt
