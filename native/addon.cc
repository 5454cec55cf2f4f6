// The Node-API surface of the native backend: one function per kernel with positional
// arguments (see src/backend/native.ts). Each function validates its arguments with Args,
// then calls the kernel.
#include <napi.h>

#include <cmath>
#include <string>

#include "args.h"
#include "cpu_features.h"
#include "gemm.h"
#include "half.h"
#include "kernels.h"
#include "malloc_tuning.h"
#include "quant.h"
#include "thread_pool.h"

namespace tsgpt {
namespace {

// The last element reachable by a strided walk over `shape` must lie inside the buffer.
void check_strided_extent(const Args& args, const char* name, int64_t len, int64_t offset,
                          const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
  int64_t lo = offset, hi = offset;
  for (size_t d = 0; d < shape.size(); d++) {
    const int64_t span = args.mul(shape[d] - 1, strides[d] < 0 ? -strides[d] : strides[d]);
    if (strides[d] < 0) lo -= span;
    else hi = args.add(hi, span);
  }
  if (lo < 0 || hi >= len)
    args.range_error(std::string(name) + " view reaches elements [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "] but the buffer has " + std::to_string(len));
}

// dims = [ndim, shape..., strides of operand 1..., strides of operand 2...].
// Returns the element count of shape.
int64_t read_dims(const Args& args, size_t i, int operands, StridedShape* s) {
  Span<double> dims;
  {
    AnyArray a = args.any_array(i, "dims");
    if (a.type != napi_float64_array) args.type_error("dims must be a Float64Array");
    dims = Span<double>{static_cast<double*>(a.data), a.len};
  }
  if (dims.len < 1) args.range_error("dims is empty");
  const double ndd = dims.data[0];
  if (!(ndd >= 0 && ndd <= 64) || double(int64_t(ndd)) != ndd) args.range_error("ndim must be an integer in [0, 64]");
  const int64_t nd = int64_t(ndd);
  if (dims.len != 1 + nd * (1 + operands)) args.range_error("dims has the wrong length");
  int64_t total = 1;
  auto as_int = [&](double v, bool nonneg) {
    if (!(std::fabs(v) <= kMaxSafeInteger) || std::floor(v) != v || (nonneg && v < 0))
      args.range_error("shape and strides must be integers (shape ≥ 0)");
    return int64_t(v);
  };
  for (int64_t d = 0; d < nd; d++) {
    s->shape.push_back(as_int(dims.data[1 + d], true));
    total = args.mul(total, s->shape.back());
    s->a_strides.push_back(as_int(dims.data[1 + nd + d], false));
    s->b_strides.push_back(operands > 1 ? as_int(dims.data[1 + 2 * nd + d], false) : 0);
  }
  return total;
}

void check_op(const Args& args, int64_t op, int64_t count) {
  if (op < 0 || op >= count) args.range_error("unknown op code " + std::to_string(op));
}

// ---- matmul ----

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Args args(info, "matmul", 14);
  GemmArgs g;
  g.batch = args.size(0, "batch");
  g.m = args.size(1, "m");
  g.n = args.size(2, "n");
  g.k = args.size(3, "k");
  Span<float> a = args.f32(4, "a");
  const int64_t a_off = args.size(5, "aOffset");
  g.a_batch_stride = args.size(6, "aBatchStride");
  g.trans_a = args.boolean(7, "transA");
  Span<float> b = args.f32(8, "b");
  const int64_t b_off = args.size(9, "bOffset");
  g.b_batch_stride = args.size(10, "bBatchStride");
  g.trans_b = args.boolean(11, "transB");
  Span<float> c = args.f32(12, "c");
  g.accumulate = args.boolean(13, "accumulate");

  args.require(c, args.mul(args.mul(g.batch, g.m), g.n), "c");
  if (g.batch > 0 && g.m > 0 && g.n > 0 && g.k > 0) {
    args.require(a, args.add(args.add(a_off, args.mul(g.batch - 1, g.a_batch_stride)), args.mul(g.m, g.k)), "a");
    args.require(b, args.add(args.add(b_off, args.mul(g.batch - 1, g.b_batch_stride)), args.mul(g.k, g.n)), "b");
    g.a = a.data + a_off;
    g.b = b.data + b_off;
  } else {
    g.a = a.data;
    g.b = b.data;
  }
  g.c = c.data;
  gemm(g);
  return info.Env().Undefined();
}

// ---- linear with 16-bit weights ----

// linearHalf(dtype, x, m, k, bits, n, out): out (m × n) = x (m × k) · Wᵀ, W (n × k) given as
// f16 or bf16 bits in a Uint16Array.
Napi::Value LinearHalf(const Napi::CallbackInfo& info) {
  Args args(info, "linearHalf", 7);
  if (!info[0].IsString()) args.type_error("dtype must be a string (\"F16\" or \"BF16\")");
  const std::string dtype = info[0].As<Napi::String>().Utf8Value();
  HalfType type;
  if (dtype == "F16") type = HalfType::f16;
  else if (dtype == "BF16") type = HalfType::bf16;
  else args.range_error("dtype must be \"F16\" or \"BF16\", got \"" + dtype + "\"");
  Span<float> x = args.f32(1, "x");
  const int64_t m = args.size(2, "m"), k = args.size(3, "k");
  AnyArray bits = args.any_array(4, "bits");
  if (bits.type != napi_uint16_array) args.type_error("bits must be a Uint16Array");
  const int64_t n = args.size(5, "n");
  Span<float> out = args.f32(6, "out");
  args.require(x, args.mul(m, k), "x");
  args.require(Span<uint16_t>{static_cast<uint16_t*>(bits.data), bits.len}, args.mul(n, k), "bits");
  args.require(out, args.mul(m, n), "out");
  linear_half(type, x.data, m, k, static_cast<const uint16_t*>(bits.data), n, out.data);
  return info.Env().Undefined();
}

// ---- attention over a KV cache ----

// attention(batch, steps, heads, kvHeads, headDim, q, keys, values, capacity, valid, start,
// scale, out): see AttentionArgs in src/backend/backend.ts.
Napi::Value Attention(const Napi::CallbackInfo& info) {
  Args args(info, "attention", 13);
  AttentionShape sh;
  sh.batch = args.size(0, "batch");
  sh.steps = args.size(1, "steps");
  sh.heads = args.size(2, "heads");
  sh.kv_heads = args.size(3, "kvHeads");
  sh.head_dim = args.size(4, "headDim");
  Span<float> q = args.f32(5, "q"), keys = args.f32(6, "keys"), values = args.f32(7, "values");
  sh.capacity = args.size(8, "capacity");
  Span<uint8_t> valid = args.u8(9, "valid");
  sh.start = args.size(10, "start");
  const double scale = args.number(11, "scale");
  Span<float> out = args.f32(12, "out");
  if (sh.kv_heads == 0 || sh.heads % sh.kv_heads != 0)
    args.range_error("heads (" + std::to_string(sh.heads) + ") must be a positive multiple of kvHeads (" +
                     std::to_string(sh.kv_heads) + ")");
  if (args.add(sh.start, sh.steps) > sh.capacity)
    args.range_error("start + steps (" + std::to_string(sh.start + sh.steps) + ") exceeds capacity (" +
                     std::to_string(sh.capacity) + ")");
  if (!std::isfinite(scale)) args.range_error("scale must be a finite number");
  sh.scale = float(scale);
  const int64_t q_len = args.mul(args.mul(args.mul(sh.batch, sh.steps), sh.heads), sh.head_dim);
  const int64_t kv_len = args.mul(args.mul(args.mul(sh.batch, sh.kv_heads), sh.capacity), sh.head_dim);
  args.require(q, q_len, "q");
  args.require(keys, kv_len, "keys");
  args.require(values, kv_len, "values");
  args.require(valid, args.mul(sh.batch, sh.capacity), "valid");
  args.require(out, q_len, "out");
  attention(sh, q.data, keys.data, values.data, valid.data, out.data);
  return info.Env().Undefined();
}

// ---- training attention ----

// Reads a StridedHeads from dims[at … at + 3] (offset, batch, time and head strides) and checks
// that every element of the (batch, time, heads, headDim) view lies inside a buffer of `len`.
StridedHeads strided_heads(const Args& args, const double* dims, int at, const CausalAttentionShape& sh,
                           int64_t heads, int64_t len, const char* name) {
  StridedHeads s;
  int64_t v[4];
  for (int i = 0; i < 4; i++) {
    const double d = dims[at + i];
    if (!(d >= 0 && d <= kMaxSafeInteger) || std::floor(d) != d)
      args.range_error(std::string(name) + ": offset and strides must be integers ≥ 0");
    v[i] = int64_t(d);
  }
  s.offset = v[0];
  s.sb = v[1];
  s.st = v[2];
  s.sh = v[3];
  if (sh.batch == 0 || sh.time == 0 || heads == 0 || sh.head_dim == 0) return s;
  // The last element: offset + (B−1)·sb + (T−1)·st + (heads−1)·sh + headDim − 1.
  int64_t last = s.offset;
  last = args.add(last, args.mul(sh.batch - 1, s.sb));
  last = args.add(last, args.mul(sh.time - 1, s.st));
  last = args.add(last, args.mul(heads - 1, s.sh));
  last = args.add(last, sh.head_dim - 1);
  if (last >= len)
    args.range_error(std::string(name) + ": the strided view reaches element " + std::to_string(last) + " of a buffer of " +
                     std::to_string(len));
  return s;
}

// dims (Float64Array): batch, time, heads, kvHeads, headDim, window, then offset and three
// strides for each of q, k, v (18 numbers).
CausalAttentionShape causal_attention_shape(const Args& args, const Span<double>& dims, const Span<float>& q,
                                            const Span<float>& k, const Span<float>& v, double scale) {
  if (dims.len != 18) args.range_error("dims must hold 18 numbers");
  const double* d = dims.data;
  for (int i = 0; i < 6; i++) {
    if (!(d[i] >= 0 && d[i] <= kMaxSafeInteger) || std::floor(d[i]) != d[i])
      args.range_error("batch, time, heads, kvHeads, headDim and window must be integers ≥ 0");
  }
  CausalAttentionShape sh;
  sh.batch = int64_t(d[0]);
  sh.time = int64_t(d[1]);
  sh.heads = int64_t(d[2]);
  sh.kv_heads = int64_t(d[3]);
  sh.head_dim = int64_t(d[4]);
  sh.window = int64_t(d[5]);
  if (sh.kv_heads == 0 || sh.heads % sh.kv_heads != 0)
    args.range_error("heads (" + std::to_string(sh.heads) + ") must be a positive multiple of kvHeads (" +
                     std::to_string(sh.kv_heads) + ")");
  if (!std::isfinite(scale)) args.range_error("scale must be a finite number");
  sh.scale = float(scale);
  sh.q = strided_heads(args, d, 6, sh, sh.heads, q.len, "q");
  sh.k = strided_heads(args, d, 10, sh, sh.kv_heads, k.len, "k");
  sh.v = strided_heads(args, d, 14, sh, sh.kv_heads, v.len, "v");
  return sh;
}

// causalAttention(dims, scale, q, k, v, keyValid | null, out, probs)
Napi::Value CausalAttention(const Napi::CallbackInfo& info) {
  Args args(info, "causalAttention", 8);
  const Span<double> dims = args.f64(0, "dims");
  const double scale = args.number(1, "scale");
  Span<float> q = args.f32(2, "q"), k = args.f32(3, "k"), v = args.f32(4, "v");
  const CausalAttentionShape sh = causal_attention_shape(args, dims, q, k, v, scale);
  Span<uint8_t> valid;
  if (!args.is_null(5)) {
    valid = args.u8(5, "keyValid");
    args.require(valid, args.mul(sh.batch, sh.time), "keyValid");
  }
  Span<float> out = args.f32(6, "out"), probs = args.f32(7, "probs");
  args.require(out, args.mul(args.mul(args.mul(sh.batch, sh.time), sh.heads), sh.head_dim), "out");
  args.require(probs, args.mul(args.mul(args.mul(sh.batch, sh.heads), sh.time), sh.time), "probs");
  causal_attention(sh, q.data, k.data, v.data, valid.data, out.data, probs.data);
  return info.Env().Undefined();
}

// causalAttentionBackward(dims, scale, q, k, v, probs, gOut, gq, gk, gv)
Napi::Value CausalAttentionBackward(const Napi::CallbackInfo& info) {
  Args args(info, "causalAttentionBackward", 10);
  const Span<double> dims = args.f64(0, "dims");
  const double scale = args.number(1, "scale");
  Span<float> q = args.f32(2, "q"), k = args.f32(3, "k"), v = args.f32(4, "v");
  const CausalAttentionShape sh = causal_attention_shape(args, dims, q, k, v, scale);
  Span<float> probs = args.f32(5, "probs"), g_out = args.f32(6, "gOut");
  Span<float> gq = args.f32(7, "gq"), gk = args.f32(8, "gk"), gv = args.f32(9, "gv");
  args.require(probs, args.mul(args.mul(args.mul(sh.batch, sh.heads), sh.time), sh.time), "probs");
  args.require(g_out, args.mul(args.mul(args.mul(sh.batch, sh.time), sh.heads), sh.head_dim), "gOut");
  // The gradients are laid out like q, k, v: the same bounds hold.
  strided_heads(args, dims.data, 6, sh, sh.heads, gq.len, "gq");
  strided_heads(args, dims.data, 10, sh, sh.kv_heads, gk.len, "gk");
  strided_heads(args, dims.data, 14, sh, sh.kv_heads, gv.len, "gv");
  causal_attention_backward(sh, q.data, k.data, v.data, probs.data, g_out.data, gq.data, gk.data, gv.data);
  return info.Env().Undefined();
}

// ---- element-wise ----

Napi::Value Unary(const Napi::CallbackInfo& info) {
  Args args(info, "unary", 3);
  const int64_t op = args.integer(0, "op");
  check_op(args, op, kUnaryOpCount);
  Span<float> x = args.f32(1, "x"), out = args.f32(2, "out");
  args.require(out, x.len, "out");
  unary(int(op), x.data, out.data, x.len);
  return info.Env().Undefined();
}

Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  Args args(info, "unaryBackward", 5);
  const int64_t op = args.integer(0, "op");
  check_op(args, op, kUnaryOpCount);
  Span<float> x = args.f32(1, "x"), y = args.f32(2, "y"), gy = args.f32(3, "gy"), gx = args.f32(4, "gx");
  const int64_t n = x.len;
  args.require(y, n, "y");
  args.require(gy, n, "gy");
  args.require(gx, n, "gx");
  unary_backward(int(op), x.data, y.data, gy.data, gx.data, n);
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  Args args(info, "binary", 7);
  const int64_t op = args.integer(0, "op");
  check_op(args, op, kBinaryOpCount);
  AnyArray a = args.any_array(1, "a");
  const int64_t a_off = args.size(2, "aOffset");
  AnyArray b = args.any_array(3, "b");
  const int64_t b_off = args.size(4, "bOffset");
  AnyArray out = args.any_array(5, "out");
  StridedShape s;
  const int64_t total = read_dims(args, 6, 2, &s);

  const bool is_float = a.type == napi_float32_array;
  if (!(is_float || a.type == napi_int32_array) || b.type != a.type)
    args.type_error("a and b must both be Float32Array or both Int32Array");
  const bool cmp = is_comparison(int(op));
  const napi_typedarray_type want_out = cmp ? napi_uint8_array : (is_float ? napi_float32_array : napi_int32_array);
  if (out.type != want_out)
    args.type_error(std::string("out must be a ") + (cmp ? "Uint8Array" : is_float ? "Float32Array" : "Int32Array"));
  if (!cmp && !is_float && op == kPow) args.type_error("pow on Int32Array is unsupported");
  if (out.len < total) args.range_error("out has " + std::to_string(out.len) + " elements, needs " + std::to_string(total));
  if (total == 0) return info.Env().Undefined();
  check_strided_extent(args, "a", a.len, a_off, s.shape, s.a_strides);
  check_strided_extent(args, "b", b.len, b_off, s.shape, s.b_strides);

  if (is_float) {
    const float* pa = static_cast<const float*>(a.data) + a_off;
    const float* pb = static_cast<const float*>(b.data) + b_off;
    if (cmp) compare_f32(int(op), pa, pb, s, static_cast<uint8_t*>(out.data));
    else binary_f32(int(op), pa, pb, s, static_cast<float*>(out.data));
  } else {
    const int32_t* pa = static_cast<const int32_t*>(a.data) + a_off;
    const int32_t* pb = static_cast<const int32_t*>(b.data) + b_off;
    if (cmp) compare_i32(int(op), pa, pb, s, static_cast<uint8_t*>(out.data));
    else if (!binary_i32(int(op), pa, pb, s, static_cast<int32_t*>(out.data))) args.range_error("integer division by zero");
  }
  return info.Env().Undefined();
}

int element_size(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;
  }
}

Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  Args args(info, "copyStrided", 4);
  AnyArray src = args.any_array(0, "src");
  const int64_t offset = args.size(1, "offset");
  AnyArray out = args.any_array(2, "out");
  StridedShape s;
  const int64_t total = read_dims(args, 3, 1, &s);
  if (src.type != out.type) args.type_error("src and out must be typed arrays of the same type");
  if (out.len < total) args.range_error("out has " + std::to_string(out.len) + " elements, needs " + std::to_string(total));
  if (total == 0) return info.Env().Undefined();
  check_strided_extent(args, "src", src.len, offset, s.shape, s.a_strides);
  const int es = element_size(src.type);
  copy_strided(static_cast<const char*>(src.data) + offset * es, es, s, out.data);
  return info.Env().Undefined();
}

Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Args args(info, "adamw", 10);
  Span<float> p = args.f32(0, "p"), g = args.f32(1, "g"), m = args.f32(2, "m"), v = args.f32(3, "v");
  args.require(g, p.len, "g");
  args.require(m, p.len, "m");
  args.require(v, p.len, "v");
  const double lr = args.number(4, "lr"), b1 = args.number(5, "beta1"), b2 = args.number(6, "beta2");
  const double eps = args.number(7, "eps"), wd = args.number(8, "weightDecay");
  const int64_t step = args.integer(9, "step");
  if (step < 1) args.range_error("step must be ≥ 1, got " + std::to_string(step));
  adamw(p.data, g.data, m.data, v.data, p.len, lr, b1, b2, eps, wd, double(step));
  return info.Env().Undefined();
}

// ---- reductions ----

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Args args(info, "reduce", 6);
  const int64_t op = args.integer(0, "op");
  check_op(args, op, kReduceOpCount);
  Span<float> x = args.f32(1, "x");
  const int64_t outer = args.size(2, "outer"), size = args.size(3, "size"), inner = args.size(4, "inner");
  Span<float> out = args.f32(5, "out");
  args.require(x, args.mul(args.mul(outer, size), inner), "x");
  args.require(out, args.mul(outer, inner), "out");
  reduce(int(op), x.data, outer, size, inner, out.data);
  return info.Env().Undefined();
}

Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  Args args(info, "argReduce", 6);
  const int64_t op = args.integer(0, "op");
  check_op(args, op, kArgReduceOpCount);
  Span<float> x = args.f32(1, "x");
  const int64_t outer = args.size(2, "outer"), size = args.size(3, "size"), inner = args.size(4, "inner");
  Span<int32_t> out = args.i32(5, "out");
  args.require(x, args.mul(args.mul(outer, size), inner), "x");
  args.require(out, args.mul(outer, inner), "out");
  if (size == 0 && outer * inner > 0) args.range_error("cannot take the arg-max/min of an empty axis");
  if (size > INT32_MAX) args.range_error("axis too long for Int32 indices");
  arg_reduce(int(op), x.data, outer, size, inner, out.data);
  return info.Env().Undefined();
}

// ---- row-wise ----

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Args args(info, "softmax", 5);
  Span<float> x = args.f32(0, "x");
  const int64_t rows = args.size(1, "rows"), cols = args.size(2, "cols");
  Span<float> out = args.f32(3, "out");
  const bool log = args.boolean(4, "log");
  const int64_t n = args.mul(rows, cols);
  args.require(x, n, "x");
  args.require(out, n, "out");
  softmax(x.data, rows, cols, out.data, log);
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args args(info, "softmaxBackward", 6);
  Span<float> y = args.f32(0, "y"), gy = args.f32(1, "gy");
  const int64_t rows = args.size(2, "rows"), cols = args.size(3, "cols");
  Span<float> gx = args.f32(4, "gx");
  const bool log = args.boolean(5, "log");
  const int64_t n = args.mul(rows, cols);
  args.require(y, n, "y");
  args.require(gy, n, "gy");
  args.require(gx, n, "gx");
  softmax_backward(y.data, gy.data, rows, cols, gx.data, log);
  return info.Env().Undefined();
}

Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Args args(info, "layerNorm", 9);
  Span<float> x = args.f32(0, "x"), w = args.f32_or_null(1, "w"), b = args.f32_or_null(2, "b");
  const int64_t rows = args.size(3, "rows"), cols = args.size(4, "cols");
  const double eps = args.number(5, "eps");
  Span<float> out = args.f32(6, "out"), mean = args.f32(7, "mean"), rstd = args.f32(8, "rstd");
  const int64_t n = args.mul(rows, cols);
  args.require(x, n, "x");
  args.require(out, n, "out");
  if (w.data) args.require(w, cols, "w");
  if (b.data) args.require(b, cols, "b");
  args.require(mean, rows, "mean");
  args.require(rstd, rows, "rstd");
  layer_norm(x.data, w.data, b.data, rows, cols, eps, out.data, mean.data, rstd.data);
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args args(info, "layerNormBackward", 10);
  Span<float> x = args.f32(0, "x"), w = args.f32_or_null(1, "w");
  Span<float> mean = args.f32(2, "mean"), rstd = args.f32(3, "rstd"), gy = args.f32(4, "gy");
  const int64_t rows = args.size(5, "rows"), cols = args.size(6, "cols");
  Span<float> gx = args.f32(7, "gx"), gw = args.f32_or_null(8, "gw"), gb = args.f32_or_null(9, "gb");
  const int64_t n = args.mul(rows, cols);
  args.require(x, n, "x");
  args.require(gy, n, "gy");
  args.require(gx, n, "gx");
  args.require(mean, rows, "mean");
  args.require(rstd, rows, "rstd");
  if (w.data) args.require(w, cols, "w");
  if (gw.data) args.require(gw, cols, "gw");
  if (gb.data) args.require(gb, cols, "gb");
  layer_norm_backward(x.data, w.data, mean.data, rstd.data, gy.data, rows, cols, gx.data, gw.data, gb.data);
  return info.Env().Undefined();
}

Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Args args(info, "rmsNorm", 7);
  Span<float> x = args.f32(0, "x"), w = args.f32_or_null(1, "w");
  const int64_t rows = args.size(2, "rows"), cols = args.size(3, "cols");
  const double eps = args.number(4, "eps");
  Span<float> out = args.f32(5, "out"), rstd = args.f32(6, "rstd");
  const int64_t n = args.mul(rows, cols);
  args.require(x, n, "x");
  args.require(out, n, "out");
  if (w.data) args.require(w, cols, "w");
  args.require(rstd, rows, "rstd");
  rms_norm(x.data, w.data, rows, cols, eps, out.data, rstd.data);
  return info.Env().Undefined();
}

Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  Args args(info, "rmsNormBackward", 8);
  Span<float> x = args.f32(0, "x"), w = args.f32_or_null(1, "w"), rstd = args.f32(2, "rstd"), gy = args.f32(3, "gy");
  const int64_t rows = args.size(4, "rows"), cols = args.size(5, "cols");
  Span<float> gx = args.f32(6, "gx"), gw = args.f32_or_null(7, "gw");
  const int64_t n = args.mul(rows, cols);
  args.require(x, n, "x");
  args.require(gy, n, "gy");
  args.require(gx, n, "gx");
  args.require(rstd, rows, "rstd");
  if (w.data) args.require(w, cols, "w");
  if (gw.data) args.require(gw, cols, "gw");
  rms_norm_backward(x.data, w.data, rstd.data, gy.data, rows, cols, gx.data, gw.data);
  return info.Env().Undefined();
}

// ---- embedding and cross-entropy ----

// Every id must lie in [0, limit): otherwise a RangeError naming the first bad one.
void check_ids(const Args& args, const Span<int32_t>& ids, int64_t n, int64_t limit, const char* what) {
  for (int64_t i = 0; i < n; i++) {
    const int32_t id = ids.data[i];
    if (id < 0 || id >= limit)
      args.range_error(std::string(what) + " " + std::to_string(id) + " at position " + std::to_string(i) +
                       " is outside [0, " + std::to_string(limit) + ")");
  }
}

Napi::Value Embedding(const Napi::CallbackInfo& info) {
  Args args(info, "embedding", 5);
  Span<float> weight = args.f32(0, "weight");
  const int64_t vocab = args.size(1, "vocab"), dim = args.size(2, "dim");
  Span<int32_t> ids = args.i32(3, "ids");
  Span<float> out = args.f32(4, "out");
  args.require(weight, args.mul(vocab, dim), "weight");
  args.require(out, args.mul(ids.len, dim), "out");
  check_ids(args, ids, ids.len, vocab, "id");
  embedding(weight.data, dim, ids.data, ids.len, out.data);
  return info.Env().Undefined();
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args args(info, "embeddingBackward", 4);
  Span<float> gy = args.f32(0, "gy");
  Span<int32_t> ids = args.i32(1, "ids");
  const int64_t dim = args.size(2, "dim");
  Span<float> gw = args.f32(3, "gw");
  if (dim == 0) return info.Env().Undefined();
  args.require(gy, args.mul(ids.len, dim), "gy");
  check_ids(args, ids, ids.len, gw.len / dim, "id");
  embedding_backward(gy.data, ids.data, ids.len, dim, gw.data);
  return info.Env().Undefined();
}

void check_targets(const Args& args, const Span<int32_t>& targets, int64_t rows, int64_t cols, int64_t ignore) {
  for (int64_t r = 0; r < rows; r++) {
    const int32_t t = targets.data[r];
    if (t != ignore && (t < 0 || t >= cols))
      args.range_error("target " + std::to_string(t) + " at row " + std::to_string(r) + " is outside [0, " +
                       std::to_string(cols) + ") and is not the ignore index " + std::to_string(ignore));
  }
}

int32_t ignore_index(const Args& args, size_t i) {
  const int64_t v = args.integer(i, "ignoreIndex");
  // An ignore index outside the Int32 range can never match a target.
  if (v < INT32_MIN) return INT32_MIN;
  if (v > INT32_MAX) return INT32_MAX;
  return int32_t(v);
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Args args(info, "crossEntropy", 7);
  Span<float> logits = args.f32(0, "logits");
  Span<int32_t> targets = args.i32(1, "targets");
  const int64_t rows = args.size(2, "rows"), cols = args.size(3, "cols");
  const int64_t ignore_raw = args.integer(4, "ignoreIndex");
  Span<float> losses = args.f32(5, "losses"), lse = args.f32(6, "lse");
  args.require(logits, args.mul(rows, cols), "logits");
  args.require(targets, rows, "targets");
  args.require(losses, rows, "losses");
  args.require(lse, rows, "lse");
  check_targets(args, targets, rows, cols, ignore_raw);
  cross_entropy(logits.data, targets.data, rows, cols, ignore_index(args, 4), losses.data, lse.data);
  return info.Env().Undefined();
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args args(info, "crossEntropyBackward", 8);
  Span<float> logits = args.f32(0, "logits");
  Span<int32_t> targets = args.i32(1, "targets");
  Span<float> lse = args.f32(2, "lse"), g_loss = args.f32(3, "gLoss");
  const int64_t rows = args.size(4, "rows"), cols = args.size(5, "cols");
  const int64_t ignore_raw = args.integer(6, "ignoreIndex");
  Span<float> glogits = args.f32(7, "glogits");
  const int64_t n = args.mul(rows, cols);
  args.require(logits, n, "logits");
  args.require(glogits, n, "glogits");
  args.require(targets, rows, "targets");
  args.require(lse, rows, "lse");
  args.require(g_loss, rows, "gLoss");
  check_targets(args, targets, rows, cols, ignore_raw);
  cross_entropy_backward(logits.data, targets.data, lse.data, g_loss.data, rows, cols, ignore_index(args, 6),
                         glogits.data);
  return info.Env().Undefined();
}

// ---- configuration ----

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Args args(info, "setNumThreads", 1);
  const int64_t n = args.integer(0, "n");
  if (n < 1 || n > 256) args.range_error("n must be in [1, 256], got " + std::to_string(n));
  set_num_threads(int(n));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), num_threads());
}

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), simd_level_name(current_simd_level()));
}

Napi::Value AvailableSimdLevels(const Napi::CallbackInfo& info) {
  auto levels = available_simd_levels();
  Napi::Array out = Napi::Array::New(info.Env(), levels.size());
  for (size_t i = 0; i < levels.size(); i++) out.Set(uint32_t(i), Napi::String::New(info.Env(), simd_level_name(levels[i])));
  return out;
}

Napi::Value SetSimdLevel(const Napi::CallbackInfo& info) {
  Args args(info, "setSimdLevel", 1);
  if (!info[0].IsString()) args.type_error("level must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  SimdLevel level;
  if (!parse_simd_level(name, &level) || !set_simd_level(level))
    args.range_error("SIMD level \"" + name + "\" is not available on this CPU/build");
  return info.Env().Undefined();
}

}  // namespace

Napi::Value MallocTuned(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), malloc_tuned()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tune_malloc();
  exports.Set("mallocTuned", Napi::Function::New(env, MallocTuned, "mallocTuned"));
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("unaryBackward", Napi::Function::New(env, UnaryBackward, "unaryBackward"));
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("copyStrided", Napi::Function::New(env, CopyStrided, "copyStrided"));
  exports.Set("adamw", Napi::Function::New(env, AdamW, "adamw"));
  exports.Set("reduce", Napi::Function::New(env, Reduce, "reduce"));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce, "argReduce"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward, "softmaxBackward"));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm, "layerNorm"));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward, "layerNormBackward"));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm, "rmsNorm"));
  exports.Set("rmsNormBackward", Napi::Function::New(env, RmsNormBackward, "rmsNormBackward"));
  exports.Set("embedding", Napi::Function::New(env, Embedding, "embedding"));
  exports.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward, "embeddingBackward"));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy, "crossEntropy"));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward, "crossEntropyBackward"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures, "cpuFeatures"));
  exports.Set("availableSimdLevels", Napi::Function::New(env, AvailableSimdLevels, "availableSimdLevels"));
  exports.Set("setSimdLevel", Napi::Function::New(env, SetSimdLevel, "setSimdLevel"));
  exports.Set("linearHalf", Napi::Function::New(env, LinearHalf, "linearHalf"));
  exports.Set("attention", Napi::Function::New(env, Attention, "attention"));
  exports.Set("causalAttention", Napi::Function::New(env, CausalAttention, "causalAttention"));
  exports.Set("causalAttentionBackward", Napi::Function::New(env, CausalAttentionBackward, "causalAttentionBackward"));
  RegisterQuantKernels(env, exports);
  return exports;
}

}  // namespace tsgpt

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tsgpt::Init(env, exports); }

NODE_API_MODULE(tsgpt_native, InitModule)
