#include "cpu/simd.h"

#include <cstdlib>
#include <cstring>

namespace seqfair {
namespace {

SimdLevel detect() {
  SimdLevel best = SimdLevel::Scalar;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = SimdLevel::Avx2;
  if (__builtin_cpu_supports("avx512f") && best == SimdLevel::Avx2) best = SimdLevel::Avx512;
#endif
  if (const char* env = std::getenv("SEQFAIR_SIMD")) {
    SimdLevel want = best;
    if (std::strcmp(env, "scalar") == 0) want = SimdLevel::Scalar;
    else if (std::strcmp(env, "avx2") == 0) want = SimdLevel::Avx2;
    else if (std::strcmp(env, "avx512") == 0) want = SimdLevel::Avx512;
    if (static_cast<int>(want) < static_cast<int>(best)) best = want;
  }
  return best;
}

}  // namespace

SimdLevel simd_level() {
  static const SimdLevel level = detect();
  return level;
}

const char* simd_level_name() {
  switch (simd_level()) {
    case SimdLevel::Avx512: return "avx512";
    case SimdLevel::Avx2: return "avx2";
    default: return "scalar";
  }
}

}  // namespace seqfair
