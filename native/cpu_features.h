// Which SIMD instruction set the kernels use, chosen at run time from the CPU's features.
// This is the one dispatch of the addon: every kernel (gemm, half, quant, attention) picks its
// functions from current_simd_level(), so TSGPT_SIMD and setSimdLevel() move them all together.
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

/**
 * Instruction sets some kernels need on top of a level (they fall back to the level below
 * without them): F16C (16-bit conversions: half*.cc, quant.cc's AVX2 kernels) and AVX-512 VNNI
 * (quant.cc's int8 dot products at the avx512 level).
 */
bool cpu_has_f16c();
bool cpu_has_avx512_vnni();

/** The matmul kernels of the current level. */
const GemmKernels& current_gemm_kernels();

}  // namespace tsgpt
