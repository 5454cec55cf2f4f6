#include "cpu_features.h"

#include <cstdlib>

namespace tsgpt {
namespace {

bool cpu_supports(SimdLevel level) {
  switch (level) {
    case SimdLevel::generic:
      return true;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
    case SimdLevel::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SimdLevel::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("fma");
#endif
    default:
      return false;
  }
}

GemmKernels kernels_of(SimdLevel level) {
  switch (level) {
    case SimdLevel::avx512: return gemm_kernels_avx512();
    case SimdLevel::avx2: return gemm_kernels_avx2();
    default: return gemm_kernels_generic();
  }
}

struct State {
  SimdLevel level;
  GemmKernels kernels;
  State() {
    level = available_simd_levels().front();
    if (const char* env = std::getenv("TSGPT_SIMD")) {
      SimdLevel wanted;
      if (parse_simd_level(env, &wanted)) {
        for (SimdLevel l : available_simd_levels())
          if (l == wanted) level = wanted;
      }
    }
    kernels = kernels_of(level);
  }
};

State& state() {
  static State s;
  return s;
}

}  // namespace

std::vector<SimdLevel> available_simd_levels() {
  std::vector<SimdLevel> out;
  for (SimdLevel l : {SimdLevel::avx512, SimdLevel::avx2, SimdLevel::generic}) {
    if (cpu_supports(l) && kernels_of(l).gemm != nullptr) out.push_back(l);
  }
  return out;
}

SimdLevel current_simd_level() { return state().level; }

bool set_simd_level(SimdLevel level) {
  for (SimdLevel l : available_simd_levels()) {
    if (l == level) {
      state().level = level;
      state().kernels = kernels_of(level);
      return true;
    }
  }
  return false;
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::avx512: return "avx512";
    case SimdLevel::avx2: return "avx2";
    default: return "generic";
  }
}

bool parse_simd_level(const std::string& name, SimdLevel* out) {
  if (name == "avx512") *out = SimdLevel::avx512;
  else if (name == "avx2") *out = SimdLevel::avx2;
  else if (name == "generic") *out = SimdLevel::generic;
  else return false;
  return true;
}

bool cpu_has_f16c() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

bool cpu_has_avx512_vnni() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

const GemmKernels& current_gemm_kernels() { return state().kernels; }

}  // namespace tsgpt
