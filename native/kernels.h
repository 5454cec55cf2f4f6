// The non-matmul kernels. Callers (addon.cc) have validated every size and index already:
// these functions trust their arguments and never allocate their outputs.
#pragma once
#include <cstdint>
#include <vector>

namespace tsgpt {

// Op codes: keep in the same order as the tables in src/backend/native.ts.
enum UnaryOp {
  kNeg, kExp, kLog, kSqrt, kRsqrt, kAbs, kTanh, kSigmoid, kRelu,
  kGelu, kGeluTanh, kSilu, kSquare, kSin, kCos, kUnaryOpCount
};
enum BinaryOp {
  kAdd, kSub, kMul, kDiv, kPow, kMaximum, kMinimum,
  kEq, kNe, kLt, kLe, kGt, kGe, kBinaryOpCount
};
enum ReduceOp { kSum, kMax, kMin, kReduceOpCount };
enum ArgReduceOp { kArgmax, kArgmin, kArgReduceOpCount };

inline bool is_comparison(int op) { return op >= kEq; }

/** A shape with the element strides of up to two operands (the output is contiguous). */
struct StridedShape {
  std::vector<int64_t> shape, a_strides, b_strides;
};

// elementwise.cc
void unary(int op, const float* x, float* out, int64_t n);
void unary_backward(int op, const float* x, const float* y, const float* gy, float* gx, int64_t n);
void binary_f32(int op, const float* a, const float* b, const StridedShape& s, float* out);
/** Returns false when an integer division by zero occurred (those outputs are 0). */
bool binary_i32(int op, const int32_t* a, const int32_t* b, const StridedShape& s, int32_t* out);
void compare_f32(int op, const float* a, const float* b, const StridedShape& s, uint8_t* out);
void compare_i32(int op, const int32_t* a, const int32_t* b, const StridedShape& s, uint8_t* out);
/** Gather src (strides in s.a_strides) into contiguous out; elem_size is 1, 2, 4 or 8 bytes. */
void copy_strided(const void* src, int elem_size, const StridedShape& s, void* out);
void adamw(float* p, const float* g, float* m, float* v, int64_t n,
           double lr, double beta1, double beta2, double eps, double weight_decay, double step);

// reduce.cc
void reduce(int op, const float* x, int64_t outer, int64_t size, int64_t inner, float* out);
void arg_reduce(int op, const float* x, int64_t outer, int64_t size, int64_t inner, int32_t* out);

// rowwise.cc
void softmax(const float* x, int64_t rows, int64_t cols, float* out, bool log);
void softmax_backward(const float* y, const float* gy, int64_t rows, int64_t cols, float* gx, bool log);
void layer_norm(const float* x, const float* w, const float* b, int64_t rows, int64_t cols, double eps,
                float* out, float* mean, float* rstd);
void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                         int64_t rows, int64_t cols, float* gx, float* gw, float* gb);
void rms_norm(const float* x, const float* w, int64_t rows, int64_t cols, double eps, float* out, float* rstd);
void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* gy,
                       int64_t rows, int64_t cols, float* gx, float* gw);
void cross_entropy(const float* logits, const int32_t* targets, int64_t rows, int64_t cols, int32_t ignore_index,
                   float* losses, float* lse);
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, const float* g_loss,
                            int64_t rows, int64_t cols, int32_t ignore_index, float* glogits);

// attention.cc
/** The sizes of an attention call (see AttentionArgs in src/backend/backend.ts). */
struct AttentionShape {
  int64_t batch, steps, heads, kv_heads, head_dim, capacity, start;
  float scale;
};
/**
 * Causal, padding-masked, grouped-query attention of `steps` new tokens per row over a KV cache:
 * q, out (batch × steps, heads × head_dim); keys, values (batch, kv_heads, capacity, head_dim);
 * valid (batch, capacity). Runs on the thread pool with the current level's gemm kernels.
 */
void attention(const AttentionShape& s, const float* q, const float* keys, const float* values, const uint8_t* valid,
               float* out);

// causal_attention.cc
/** A strided (batch, time, heads, head_dim) view: element (b, t, h, d) at offset + b·sb + t·st + h·sh + d. */
struct StridedHeads {
  int64_t offset, sb, st, sh;
};
/** The sizes and layouts of a training attention call (see CausalAttentionArgs in src/backend/backend.ts). */
struct CausalAttentionShape {
  int64_t batch, time, heads, kv_heads, head_dim, window;
  float scale;
  StridedHeads q, k, v;
};
/** out (batch × time, heads × head_dim) and probs (batch, heads, time, time) written. */
void causal_attention(const CausalAttentionShape& s, const float* q, const float* k, const float* v,
                      const uint8_t* key_valid, float* out, float* probs);
/** Accumulates the gradients into gq, gk, gv (laid out like q, k, v; they may share a buffer). */
void causal_attention_backward(const CausalAttentionShape& s, const float* q, const float* k, const float* v,
                               const float* probs, const float* g_out, float* gq, float* gk, float* gv);

// embedding.cc
void embedding(const float* weight, int64_t dim, const int32_t* ids, int64_t n, float* out);
void embedding_backward(const float* gy, const int32_t* ids, int64_t n, int64_t dim, float* gw);

}  // namespace tsgpt
