// Training attention (all T tokens of each row at once) and its backward pass: the native
// causalAttention / causalAttentionBackward (src/backend/js_causal_attention.ts is the readable
// reference with the formulas; CausalAttentionArgs in src/backend/backend.ts the contract).
//
// q, k, v are read in place through their strides (heads straight from a packed q|k|v
// projection), and the products run on the current SIMD level's single-threaded gemm kernels,
// one task per (row, head) forward and per (row, key/value head) backward, spread over the
// thread pool. Causality is used to skip work: the rows are cut into blocks of kBlock queries,
// and a block only multiplies against the keys its last query can see.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu_features.h"
#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"
#include "vec_math.h"

namespace tsgpt {
namespace {

constexpr int64_t kBlock = 32;

struct Job {
  const CausalAttentionShape* sh;
  const float *q, *k, *v;
  const uint8_t* key_valid;
  float* out;
  float* probs;
  const float* g_out;
  float *gq, *gk, *gv;
  GemmKernels gk_;
};

// Per-thread dS buffer of the backward pass.
thread_local std::vector<float> ds_buffer;

inline const float* head_ptr(const float* base, const StridedHeads& s, int64_t b, int64_t t, int64_t h) {
  return base + s.offset + b * s.sb + t * s.st + h * s.sh;
}
inline float* head_ptr(float* base, const StridedHeads& s, int64_t b, int64_t t, int64_t h) {
  return base + s.offset + b * s.sb + t * s.st + h * s.sh;
}

void product(const GemmKernels& gk, int64_t m, int64_t n, int64_t k, const float* a, int64_t a_rs, int64_t a_cs,
             const float* b, int64_t b_rs, int64_t b_cs, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  GemmTask t;
  t.m = m;
  t.n = n;
  t.k = k;
  t.a = a;
  t.a_rs = a_rs;
  t.a_cs = a_cs;
  t.b = b;
  t.b_rs = b_rs;
  t.b_cs = b_cs;
  t.c = c;
  t.ldc = ldc;
  t.accumulate = accumulate;
  gk.gemm(t);
}

// Turns row t of scaled-later scores into attention weights in place: keys lo … t that are
// valid get softmax(scale · s), every other entry of the row (T of them) gets 0.
void softmax_row(float* row, int64_t T, int64_t t, int64_t window, const uint8_t* valid, float scale) {
  const int64_t lo = window > 0 ? std::max<int64_t>(0, t - window + 1) : 0;
  float max = -INFINITY;
  for (int64_t j = lo; j <= t; j++) {
    if (valid && !valid[j]) continue;
    row[j] *= scale;
    max = std::max(max, row[j]);
  }
  if (max == -INFINITY) {  // sees no key
    std::memset(row, 0, sizeof(float) * size_t(T));
    return;
  }
  for (int64_t j = lo; j <= t; j++) {
    if (valid && !valid[j]) row[j] = -INFINITY;
  }
  const double sum = exp_shifted_sum(row + lo, t - lo + 1, max);  // row[j] = exp(row[j] - max)
  const float inv = float(1.0 / sum);
  for (int64_t j = lo; j <= t; j++) row[j] *= inv;
  std::memset(row, 0, sizeof(float) * size_t(lo));
  std::memset(row + t + 1, 0, sizeof(float) * size_t(T - t - 1));
}

void forward_task(const Job& j, int64_t task) {
  const CausalAttentionShape& sh = *j.sh;
  const int64_t T = sh.time, D = sh.head_dim, H = sh.heads, h = task % H, b = task / H, g = h / (H / sh.kv_heads);
  float* P = j.probs + task * T * T;
  const uint8_t* valid = j.key_valid ? j.key_valid + b * T : nullptr;
  const float* k0 = head_ptr(j.k, sh.k, b, 0, g);
  const float* v0 = head_ptr(j.v, sh.v, b, 0, g);
  for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
    const int64_t r1 = std::min(T, r0 + kBlock), m = r1 - r0;
    // S[r0:r1, 0:r1] = Q · Kᵀ
    product(j.gk_, m, r1, D, head_ptr(j.q, sh.q, b, r0, h), sh.q.st, 1, k0, 1, sh.k.st, P + r0 * T, T, false);
    for (int64_t t = r0; t < r1; t++) softmax_row(P + t * T, T, t, sh.window, valid, sh.scale);
    // O[r0:r1] = P[r0:r1, 0:r1] · V[0:r1]
    product(j.gk_, m, D, r1, P + r0 * T, T, 1, v0, sh.v.st, 1, j.out + (b * T + r0) * H * D + h * D, H * D, false);
  }
}

void backward_head(const Job& j, int64_t b, int64_t h, int64_t g, float* dS) {
  const CausalAttentionShape& sh = *j.sh;
  const int64_t T = sh.time, D = sh.head_dim, H = sh.heads, ld_o = H * D;
  const float* P = j.probs + (b * H + h) * T * T;
  const float* dO = j.g_out + b * T * ld_o + h * D;
  const float* q0 = head_ptr(j.q, sh.q, b, 0, h);
  const float* k0 = head_ptr(j.k, sh.k, b, 0, g);
  const float* v0 = head_ptr(j.v, sh.v, b, 0, g);
  float* gq0 = head_ptr(j.gq, sh.q, b, 0, h);
  float* gk0 = head_ptr(j.gk, sh.k, b, 0, g);
  float* gv0 = head_ptr(j.gv, sh.v, b, 0, g);
  // Row blocks: dP = dO · Vᵀ, then dS = P ⊙ (dP − Σ P dP) · scale, then dQ += dS · K.
  for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
    const int64_t r1 = std::min(T, r0 + kBlock), m = r1 - r0;
    product(j.gk_, m, r1, D, dO + r0 * ld_o, ld_o, 1, v0, 1, sh.v.st, dS + r0 * T, T, false);
    for (int64_t t = r0; t < r1; t++) {
      const float* p = P + t * T;
      float* ds = dS + t * T;
      float pdp = 0.0f;
      for (int64_t c = 0; c <= t; c++) pdp += p[c] * ds[c];
      for (int64_t c = 0; c <= t; c++) ds[c] = p[c] * (ds[c] - pdp) * sh.scale;
      for (int64_t c = t + 1; c < r1; c++) ds[c] = 0.0f;
    }
    product(j.gk_, m, D, r1, dS + r0 * T, T, 1, k0, sh.k.st, 1, gq0 + r0 * sh.q.st, sh.q.st, true);
  }
  // Column blocks: dV[c0:c1] += P[c0:T, c0:c1]ᵀ · dO[c0:T]; dK[c0:c1] += dS[c0:T, c0:c1]ᵀ · Q[c0:T].
  for (int64_t c0 = 0; c0 < T; c0 += kBlock) {
    const int64_t c1 = std::min(T, c0 + kBlock), n = c1 - c0, rows = T - c0;
    product(j.gk_, n, D, rows, P + c0 * T + c0, 1, T, dO + c0 * ld_o, ld_o, 1, gv0 + c0 * sh.v.st, sh.v.st, true);
    product(j.gk_, n, D, rows, dS + c0 * T + c0, 1, T, q0 + c0 * sh.q.st, sh.q.st, 1, gk0 + c0 * sh.k.st, sh.k.st, true);
  }
}

void backward_task(const Job& j, int64_t task) {
  const CausalAttentionShape& sh = *j.sh;
  const int64_t T = sh.time, group = sh.heads / sh.kv_heads, g = task % sh.kv_heads, b = task / sh.kv_heads;
  if (int64_t(ds_buffer.size()) < T * T) ds_buffer.resize(size_t(T * T));
  // The query heads sharing key/value head g run one after the other: they add into the same dK, dV.
  for (int64_t h = g * group; h < (g + 1) * group; h++) backward_head(j, b, h, g, ds_buffer.data());
}

void run(int64_t tasks, void (*fn)(const Job&, int64_t), const Job& job) {
  if (num_threads() == 1 || tasks == 1) {
    for (int64_t t = 0; t < tasks; t++) fn(job, t);
    return;
  }
  struct Ctx {
    void (*fn)(const Job&, int64_t);
    const Job* job;
  } ctx{fn, &job};
  parallel_for(tasks, [](void* p, int64_t t) {
    auto* c = static_cast<Ctx*>(p);
    c->fn(*c->job, t);
  }, &ctx);
}

}  // namespace

void causal_attention(const CausalAttentionShape& sh, const float* q, const float* k, const float* v,
                      const uint8_t* key_valid, float* out, float* probs) {
  if (sh.batch <= 0 || sh.time <= 0 || sh.heads <= 0 || sh.head_dim <= 0) return;
  Job job{&sh, q, k, v, key_valid, out, probs, nullptr, nullptr, nullptr, nullptr, current_gemm_kernels()};
  run(sh.batch * sh.heads, forward_task, job);
}

void causal_attention_backward(const CausalAttentionShape& sh, const float* q, const float* k, const float* v,
                               const float* probs, const float* g_out, float* gq, float* gk, float* gv) {
  if (sh.batch <= 0 || sh.time <= 0 || sh.heads <= 0 || sh.head_dim <= 0) return;
  Job job{&sh, q, k, v, nullptr, nullptr, const_cast<float*>(probs), g_out, gq, gk, gv, current_gemm_kernels()};
  run(sh.batch * sh.kv_heads, backward_task, job);
}

}  // namespace tsgpt
