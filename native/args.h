// Reading and validating the arguments of a kernel call.
//
// Every kernel takes positional arguments. Args reads them, checks types and that each
// buffer holds at least the elements the sizes require, and throws a JavaScript TypeError
// or RangeError (naming the kernel and the argument) otherwise — so native code never
// touches memory outside a buffer.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace tsgpt {

template <typename T>
struct Span {
  T* data = nullptr;
  int64_t len = 0;
};

/** A typed array of any element type (copyStrided). */
struct AnyArray {
  void* data = nullptr;
  int64_t len = 0;
  napi_typedarray_type type = napi_uint8_array;
};

constexpr double kMaxSafeInteger = 9007199254740991.0;

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* kernel, size_t count) : info_(info), kernel_(kernel) {
    if (info.Length() < count)
      type_error("expected " + std::to_string(count) + " arguments, got " + std::to_string(info.Length()));
  }

  [[noreturn]] void type_error(const std::string& msg) const {
    throw Napi::TypeError::New(info_.Env(), std::string(kernel_) + ": " + msg);
  }
  [[noreturn]] void range_error(const std::string& msg) const {
    throw Napi::RangeError::New(info_.Env(), std::string(kernel_) + ": " + msg);
  }

  double number(size_t i, const char* name) const {
    double v;
    if (napi_get_value_double(info_.Env(), info_[i], &v) != napi_ok) type_error(std::string(name) + " must be a number");
    return v;
  }

  /** A safe integer (possibly negative). */
  int64_t integer(size_t i, const char* name) const {
    const double v = number(i, name);
    if (!(std::fabs(v) <= kMaxSafeInteger) || std::floor(v) != v)
      range_error(std::string(name) + " must be an integer, got " + to_string(v));
    return int64_t(v);
  }

  /** A size or offset: an integer ≥ 0. */
  int64_t size(size_t i, const char* name) const {
    const int64_t v = integer(i, name);
    if (v < 0) range_error(std::string(name) + " must be ≥ 0, got " + std::to_string(v));
    return v;
  }

  bool boolean(size_t i, const char* name) const {
    bool v;
    if (napi_get_value_bool(info_.Env(), info_[i], &v) != napi_ok) type_error(std::string(name) + " must be a boolean");
    return v;
  }

  bool is_null(size_t i) const {
    const napi_valuetype t = info_[i].Type();
    return t == napi_null || t == napi_undefined;
  }

  AnyArray any_array(size_t i, const char* name) const {
    AnyArray out;
    bool is_typed = false;
    napi_is_typedarray(info_.Env(), info_[i], &is_typed);
    if (!is_typed) type_error(std::string(name) + " must be a typed array");
    size_t length = 0;
    napi_get_typedarray_info(info_.Env(), info_[i], &out.type, &length, &out.data, nullptr, nullptr);
    out.len = int64_t(length);
    return out;
  }

  Span<float> f32(size_t i, const char* name) const { return typed<float>(i, name, napi_float32_array, "Float32Array"); }
  Span<int32_t> i32(size_t i, const char* name) const { return typed<int32_t>(i, name, napi_int32_array, "Int32Array"); }
  Span<uint8_t> u8(size_t i, const char* name) const { return typed<uint8_t>(i, name, napi_uint8_array, "Uint8Array"); }
  Span<double> f64(size_t i, const char* name) const { return typed<double>(i, name, napi_float64_array, "Float64Array"); }

  /** A Float32Array, or null/undefined (then data is nullptr). */
  Span<float> f32_or_null(size_t i, const char* name) const {
    if (is_null(i)) return Span<float>{};
    return f32(i, name);
  }

  /** Throws unless the buffer holds at least `needed` elements. */
  template <typename T>
  void require(const Span<T>& s, int64_t needed, const char* name) const {
    if (s.len < needed)
      range_error(std::string(name) + " has " + std::to_string(s.len) + " elements, needs at least " +
                  std::to_string(needed));
  }

  /** a * b, refusing results past 2^53 (no size is that large). */
  int64_t mul(int64_t a, int64_t b) const {
    if (a == 0 || b == 0) return 0;
    if (a > int64_t(kMaxSafeInteger) / b) range_error("sizes overflow: " + std::to_string(a) + " × " + std::to_string(b));
    return a * b;
  }
  int64_t add(int64_t a, int64_t b) const {
    if (a > int64_t(kMaxSafeInteger) - b) range_error("sizes overflow");
    return a + b;
  }

 private:
  template <typename T>
  Span<T> typed(size_t i, const char* name, napi_typedarray_type want, const char* type_name) const {
    AnyArray a = any_array(i, name);
    if (a.type != want) type_error(std::string(name) + " must be a " + type_name);
    return Span<T>{static_cast<T*>(a.data), a.len};
  }

  static std::string to_string(double v) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }

  const Napi::CallbackInfo& info_;
  const char* kernel_;
};

}  // namespace tsgpt
