// Run-time choice of vector code. The addon is compiled for baseline x86-64 (never -march=native);
// hot loops have AVX-512 and AVX2+FMA variants compiled with __attribute__((target(...))) and
// chosen once from CPUID. SEQFAIR_SIMD=avx512|avx2|scalar forces a lower level (for tests).
#pragma once

namespace seqfair {

enum class SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 };

SimdLevel simd_level();
const char* simd_level_name();

}  // namespace seqfair
