// Element-wise kernels: unary ops and their gradients, broadcasting binary ops, strided
// copies (AdamW: adamw.cc; the exp-based activations' SIMD bodies: activations.cc). Large arrays
// are split over the thread pool.
#include <atomic>
#include <cmath>
#include <cstring>

#include "activations.h"
#include "kernels.h"
#include "thread_pool.h"

namespace tsgpt {
namespace {

constexpr int64_t kElementwiseChunk = 1 << 15;  // elements per parallel chunk, at least
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;
constexpr float kGeluCubic = 0.044715f;

inline float sigmoidf(float x) { return 1.0f / (1.0f + std::exp(-x)); }

template <int OP>
inline float unary_one(float x) {
  switch (OP) {
    case kNeg: return -x;
    case kExp: return std::exp(x);
    case kLog: return std::log(x);
    case kSqrt: return std::sqrt(x);
    case kRsqrt: return 1.0f / std::sqrt(x);
    case kAbs: return std::fabs(x);
    case kTanh: return std::tanh(x);
    case kSigmoid: return sigmoidf(x);
    case kRelu: return x > 0.0f ? x : 0.0f;
    case kGelu: return 0.5f * x * (1.0f + std::erf(x * kInvSqrt2));
    case kGeluTanh: return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + kGeluCubic * x * x * x)));
    case kSilu: return x * sigmoidf(x);
    case kSquare: return x * x;
    case kSin: return std::sin(x);
    case kCos: return std::cos(x);
  }
  return 0.0f;
}

// d op(x) / dx, given x and y = op(x).
template <int OP>
inline float unary_grad(float x, float y) {
  switch (OP) {
    case kNeg: return -1.0f;
    case kExp: return y;
    case kLog: return 1.0f / x;
    case kSqrt: return 0.5f / y;
    case kRsqrt: return -0.5f * y * y * y;
    case kAbs: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case kTanh: return 1.0f - y * y;
    case kSigmoid: return y * (1.0f - y);
    case kRelu: return x > 0.0f ? 1.0f : 0.0f;
    case kGelu: {
      const float cdf = 0.5f * (1.0f + std::erf(x * kInvSqrt2));
      const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x * x);
      return cdf + x * pdf;
    }
    case kGeluTanh: {
      const float u = kSqrt2OverPi * (x + kGeluCubic * x * x * x);
      const float t = std::tanh(u);
      const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
    }
    case kSilu: {
      const float s = sigmoidf(x);
      return s * (1.0f + x * (1.0f - s));
    }
    case kSquare: return 2.0f * x;
    case kSin: return std::cos(x);
    case kCos: return -std::sin(x);
  }
  return 0.0f;
}

template <int OP>
void unary_loop(const float* x, float* out, int64_t n) {
  parallel_range(n, kElementwiseChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) out[i] = unary_one<OP>(x[i]);
  });
}

template <int OP>
void unary_grad_loop(const float* x, const float* y, const float* gy, float* gx, int64_t n) {
  parallel_range(n, kElementwiseChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) gx[i] = gy[i] * unary_grad<OP>(x[i], y[i]);
  });
}

// ---- strided iteration (broadcasting) ----

// Merge neighbouring dims that are contiguous for both operands, so the inner loop is long.
StridedShape coalesce(const StridedShape& s) {
  StridedShape r;
  const size_t nd = s.shape.size();
  for (size_t d = 0; d < nd; d++) {
    if (s.shape[d] == 1) continue;  // size-1 dims never move the index
    if (!r.shape.empty()) {
      const size_t last = r.shape.size() - 1;
      if (r.a_strides[last] == s.a_strides[d] * s.shape[d] && r.b_strides[last] == s.b_strides[d] * s.shape[d]) {
        r.shape[last] *= s.shape[d];
        r.a_strides[last] = s.a_strides[d];
        r.b_strides[last] = s.b_strides[d];
        continue;
      }
    }
    r.shape.push_back(s.shape[d]);
    r.a_strides.push_back(s.a_strides[d]);
    r.b_strides.push_back(s.b_strides[d]);
  }
  if (r.shape.empty()) {  // a scalar
    r.shape.push_back(1);
    r.a_strides.push_back(0);
    r.b_strides.push_back(0);
  }
  return r;
}

/**
 * Calls row(a_off, b_off, out_off, len, a_step, b_step) for every run of the innermost dim,
 * in parallel over the outer rows when the total is large.
 */
template <typename RowFn>
void for_each_row(const StridedShape& s0, RowFn&& row) {
  const StridedShape s = coalesce(s0);
  const int nd = int(s.shape.size());
  const int64_t inner = s.shape[nd - 1];
  int64_t rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= s.shape[d];
  const int64_t min_rows = inner >= kElementwiseChunk ? 1 : kElementwiseChunk / inner;
  parallel_range(rows, min_rows, [&](int64_t r0, int64_t r1) {
    // Multi-index of row r0 over the outer dims.
    std::vector<int64_t> idx(nd, 0);
    int64_t a_off = 0, b_off = 0, rem = r0;
    for (int d = nd - 2; d >= 0; d--) {
      idx[d] = rem % s.shape[d];
      rem /= s.shape[d];
      a_off += idx[d] * s.a_strides[d];
      b_off += idx[d] * s.b_strides[d];
    }
    for (int64_t r = r0; r < r1; r++) {
      row(a_off, b_off, r * inner, inner, s.a_strides[nd - 1], s.b_strides[nd - 1]);
      for (int d = nd - 2; d >= 0; d--) {  // odometer increment
        idx[d]++;
        a_off += s.a_strides[d];
        b_off += s.b_strides[d];
        if (idx[d] < s.shape[d]) break;
        a_off -= idx[d] * s.a_strides[d];
        b_off -= idx[d] * s.b_strides[d];
        idx[d] = 0;
      }
    }
  });
}

// Runs f over one row with the common stride patterns specialised (so they vectorize).
template <typename A, typename O, typename F>
inline void map_row(const A* a, const A* b, O* out, int64_t len, int64_t as, int64_t bs, F f) {
  if (as == 1 && bs == 1) {
    for (int64_t i = 0; i < len; i++) out[i] = f(a[i], b[i]);
  } else if (as == 1 && bs == 0) {
    const A bv = b[0];
    for (int64_t i = 0; i < len; i++) out[i] = f(a[i], bv);
  } else if (as == 0 && bs == 1) {
    const A av = a[0];
    for (int64_t i = 0; i < len; i++) out[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < len; i++) out[i] = f(a[i * as], b[i * bs]);
  }
}

template <typename A, typename O, typename F>
void map_binary(const A* a, const A* b, const StridedShape& s, O* out, F f) {
  for_each_row(s, [&](int64_t ao, int64_t bo, int64_t oo, int64_t len, int64_t as, int64_t bs) {
    map_row(a + ao, b + bo, out + oo, len, as, bs, f);
  });
}

template <typename T>
inline T nan_max(T x, T y) {
  if (x != x) return x;
  if (y != y) return y;
  return x > y ? x : y;
}
template <typename T>
inline T nan_min(T x, T y) {
  if (x != x) return x;
  if (y != y) return y;
  return x < y ? x : y;
}

// Int32 arithmetic wraps modulo 2^32 (as C int32 and Math.imul); division truncates toward zero.
inline int32_t wrap32(int64_t v) { return int32_t(uint32_t(uint64_t(v))); }

template <typename T>
void compare(int op, const T* a, const T* b, const StridedShape& s, uint8_t* out) {
  switch (op) {
    case kEq: map_binary(a, b, s, out, [](T x, T y) -> uint8_t { return x == y; }); break;
    case kNe: map_binary(a, b, s, out, [](T x, T y) -> uint8_t { return x != y; }); break;
    case kLt: map_binary(a, b, s, out, [](T x, T y) -> uint8_t { return x < y; }); break;
    case kLe: map_binary(a, b, s, out, [](T x, T y) -> uint8_t { return x <= y; }); break;
    case kGt: map_binary(a, b, s, out, [](T x, T y) -> uint8_t { return x > y; }); break;
    case kGe: map_binary(a, b, s, out, [](T x, T y) -> uint8_t { return x >= y; }); break;
  }
}

}  // namespace

void unary(int op, const float* x, float* out, int64_t n) {
  if (unary_simd(op, x, out, n)) return;  // the exp-based activations, vectorized (activations.cc)
  switch (op) {
    case kNeg: unary_loop<kNeg>(x, out, n); break;
    case kExp: unary_loop<kExp>(x, out, n); break;
    case kLog: unary_loop<kLog>(x, out, n); break;
    case kSqrt: unary_loop<kSqrt>(x, out, n); break;
    case kRsqrt: unary_loop<kRsqrt>(x, out, n); break;
    case kAbs: unary_loop<kAbs>(x, out, n); break;
    case kTanh: unary_loop<kTanh>(x, out, n); break;
    case kSigmoid: unary_loop<kSigmoid>(x, out, n); break;
    case kRelu: unary_loop<kRelu>(x, out, n); break;
    case kGelu: unary_loop<kGelu>(x, out, n); break;
    case kGeluTanh: unary_loop<kGeluTanh>(x, out, n); break;
    case kSilu: unary_loop<kSilu>(x, out, n); break;
    case kSquare: unary_loop<kSquare>(x, out, n); break;
    case kSin: unary_loop<kSin>(x, out, n); break;
    case kCos: unary_loop<kCos>(x, out, n); break;
  }
}

void unary_backward(int op, const float* x, const float* y, const float* gy, float* gx, int64_t n) {
  if (unary_backward_simd(op, x, y, gy, gx, n)) return;
  switch (op) {
    case kNeg: unary_grad_loop<kNeg>(x, y, gy, gx, n); break;
    case kExp: unary_grad_loop<kExp>(x, y, gy, gx, n); break;
    case kLog: unary_grad_loop<kLog>(x, y, gy, gx, n); break;
    case kSqrt: unary_grad_loop<kSqrt>(x, y, gy, gx, n); break;
    case kRsqrt: unary_grad_loop<kRsqrt>(x, y, gy, gx, n); break;
    case kAbs: unary_grad_loop<kAbs>(x, y, gy, gx, n); break;
    case kTanh: unary_grad_loop<kTanh>(x, y, gy, gx, n); break;
    case kSigmoid: unary_grad_loop<kSigmoid>(x, y, gy, gx, n); break;
    case kRelu: unary_grad_loop<kRelu>(x, y, gy, gx, n); break;
    case kGelu: unary_grad_loop<kGelu>(x, y, gy, gx, n); break;
    case kGeluTanh: unary_grad_loop<kGeluTanh>(x, y, gy, gx, n); break;
    case kSilu: unary_grad_loop<kSilu>(x, y, gy, gx, n); break;
    case kSquare: unary_grad_loop<kSquare>(x, y, gy, gx, n); break;
    case kSin: unary_grad_loop<kSin>(x, y, gy, gx, n); break;
    case kCos: unary_grad_loop<kCos>(x, y, gy, gx, n); break;
  }
}

void binary_f32(int op, const float* a, const float* b, const StridedShape& s, float* out) {
  switch (op) {
    case kAdd: map_binary(a, b, s, out, [](float x, float y) { return x + y; }); break;
    case kSub: map_binary(a, b, s, out, [](float x, float y) { return x - y; }); break;
    case kMul: map_binary(a, b, s, out, [](float x, float y) { return x * y; }); break;
    case kDiv: map_binary(a, b, s, out, [](float x, float y) { return x / y; }); break;
    // pow in double, as JavaScript's Math.pow, rounded once.
    case kPow: map_binary(a, b, s, out, [](float x, float y) { return float(std::pow(double(x), double(y))); }); break;
    case kMaximum: map_binary(a, b, s, out, [](float x, float y) { return nan_max(x, y); }); break;
    case kMinimum: map_binary(a, b, s, out, [](float x, float y) { return nan_min(x, y); }); break;
  }
}

bool binary_i32(int op, const int32_t* a, const int32_t* b, const StridedShape& s, int32_t* out) {
  std::atomic<bool> divided_by_zero{false};
  switch (op) {
    case kAdd: map_binary(a, b, s, out, [](int32_t x, int32_t y) { return wrap32(int64_t(x) + y); }); break;
    case kSub: map_binary(a, b, s, out, [](int32_t x, int32_t y) { return wrap32(int64_t(x) - y); }); break;
    case kMul: map_binary(a, b, s, out, [](int32_t x, int32_t y) { return wrap32(int64_t(x) * y); }); break;
    case kDiv:
      map_binary(a, b, s, out, [&](int32_t x, int32_t y) {
        if (y == 0) {
          divided_by_zero.store(true, std::memory_order_relaxed);
          return 0;
        }
        return wrap32(int64_t(x) / y);
      });
      break;
    case kMaximum: map_binary(a, b, s, out, [](int32_t x, int32_t y) { return x > y ? x : y; }); break;
    case kMinimum: map_binary(a, b, s, out, [](int32_t x, int32_t y) { return x < y ? x : y; }); break;
  }
  return !divided_by_zero.load();
}

void compare_f32(int op, const float* a, const float* b, const StridedShape& s, uint8_t* out) {
  compare(op, a, b, s, out);
}

void compare_i32(int op, const int32_t* a, const int32_t* b, const StridedShape& s, uint8_t* out) {
  compare(op, a, b, s, out);
}

void copy_strided(const void* src, int elem_size, const StridedShape& s0, void* out) {
  StridedShape s = s0;
  s.b_strides = s.a_strides;  // only one operand: mirror it so coalescing sees one pattern
  auto copy = [&](auto* dst, const auto* from) {
    for_each_row(s, [&](int64_t ao, int64_t, int64_t oo, int64_t len, int64_t as, int64_t) {
      if (as == 1) {
        std::memcpy(dst + oo, from + ao, size_t(len) * sizeof(*dst));
      } else {
        for (int64_t i = 0; i < len; i++) dst[oo + i] = from[ao + i * as];
      }
    });
  };
  switch (elem_size) {
    case 1: copy(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(src)); break;
    case 2: copy(static_cast<uint16_t*>(out), static_cast<const uint16_t*>(src)); break;
    case 4: copy(static_cast<uint32_t*>(out), static_cast<const uint32_t*>(src)); break;
    case 8: copy(static_cast<uint64_t*>(out), static_cast<const uint64_t*>(src)); break;
  }
}

}  // namespace tsgpt
