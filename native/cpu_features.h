// Which SIMD instruction set the kernels use, chosen at run time from the CPU's features.
#pragma once
#include <string>
#include <vector>
#include "gemm.h"

namespace tsgpt {

enum class SimdLevel { generic = 0, avx2 = 1, avx512 = 2 };

/** Levels this CPU supports and this build contains, best first. */
std::vector<SimdLevel> available_simd_levels();

/** The level in use (the best available one, or TSGPT_SIMD when set to an available level). */
SimdLevel current_simd_level();

/** Use another available level; returns false when it is not available. */
bool set_simd_level(SimdLevel level);

const char* simd_level_name(SimdLevel level);
bool parse_simd_level(const std::string& name, SimdLevel* out);

/** The matmul kernels of the current level. */
const GemmKernels& current_gemm_kernels();

}  // namespace tsgpt
