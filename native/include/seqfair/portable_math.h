// Float log / exp / cos(2πu) whose results are the same bits on every backend: the scalar CPU
// code, the AVX2 lanes of cpu/dirichlet_avx2.h, CUDA, and src/engine/f32math.ts (the TypeScript
// twin, which rounds every step with Math.fround).
//
// Why: the Gamma sampler of the Dirichlet weights must give bit-identical draws for the same seed
// on the reference, CPU (any SIMD level, any thread count) and CUDA backends, and it must also
// run 8 lanes wide. libm's log/exp/cos differ between platforms in the last bit, and vector
// polynomial versions differ from libm; so the sampler uses these functions instead, built only
// from operations that IEEE-754 rounds exactly the same everywhere: binary32 +, −, ×, ÷, √,
// floor, comparisons and bit manipulation of the representation. Nothing here may be contracted
// into an FMA (which rounds once instead of twice): the host code is compiled without FMA, the
// AVX2 lanes are compiled for "avx2" only, and native/cuda/random.cu is compiled with
// -fmad=false. Constants are written as (float)(double literal) so that C, CUDA and
// Math.fround(literal) round them identically (decimal → double → float).
//
// Accuracy (checked in test/engine/f32math.test.ts): a few ulp of the correctly rounded result,
// which is plenty for a sampler; the point is determinism, not the last ulp.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "seqfair/hd.h"

namespace seqfair {
namespace pm {

// ln 2 split in two: kLn2Hi has 15 significant bits, so e·kLn2Hi is exact for |e| < 512
constexpr float kLn2Hi = (float)0.693145751953125;
constexpr float kLn2Lo = (float)1.4286068202862268e-06;
constexpr float kLog2e = (float)1.4426950408889634;
constexpr float kSqrt2 = (float)1.4142135623730951;
// 2/3, 2/5, 2/7, 2/9: log(m) = 2 atanh(s) = 2s + 2s³/3 + 2s⁵/5 + ...
constexpr float kL3 = (float)0.66666666666666663, kL5 = (float)0.40000000000000002;
constexpr float kL7 = (float)0.28571428571428570, kL9 = (float)0.22222222222222221;
// 1/k! for k = 2..7 (exp on |r| <= ln2/2)
constexpr float kE2 = (float)0.5, kE3 = (float)0.16666666666666666, kE4 = (float)0.041666666666666664;
constexpr float kE5 = (float)0.0083333333333333332, kE6 = (float)0.0013888888888888889;
constexpr float kE7 = (float)0.00019841269841269841;
// (π/2)^k / k!: cos and sin of (π/2)·f on |f| <= 1/2
constexpr float kC2 = (float)1.2337005501361697, kC4 = (float)0.25366950790104797;
constexpr float kC6 = (float)0.020863480763352957, kC8 = (float)0.00091926027483942626;
constexpr float kC10 = (float)0.000025202042373060596;
constexpr float kS1 = (float)1.5707963267948966, kS3 = (float)0.64596409750624617;
constexpr float kS5 = (float)0.079692626246167034, kS7 = (float)0.0046817541353186866;
constexpr float kS9 = (float)0.00016044118478735975, kS11 = (float)0.0000035988432352120839;
// below this exp returns 0, so its result is never subnormal (2^-125 · 0.7 is still normal)
constexpr float kExpMin = -86.5f;

SEQFAIR_HD uint32_t bits_of(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

SEQFAIR_HD float float_of(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

// natural log of a positive normal float (the caller guarantees x >= FLT_MIN and finite):
// x = m·2^e with m in (√½, √2], s = (m-1)/(m+1) (m-1 is exact), log m = s·(2 + s²·P(s²))
SEQFAIR_HD float log(float x) {
  const uint32_t b = bits_of(x);
  int32_t e = (int32_t)(b >> 23) - 127;
  float m = float_of((b & 0x7fffffu) | 0x3f800000u);  // [1, 2)
  if (m > kSqrt2) {
    m = m * 0.5f;
    e = e + 1;
  }
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  const float p = (((kL9 * s2 + kL7) * s2 + kL5) * s2 + kL3) * s2;
  const float logm = 2.0f * s + s * p;
  const float ef = (float)e;
  return (ef * kLn2Lo + logm) + ef * kLn2Hi;
}

// e^y for y <= 0 (also right for 0 < y < 88): y = k·ln2 + r, |r| <= ln2/2, Taylor to r^7;
// 0 below kExpMin
SEQFAIR_HD float exp(float y) {
  if (!(y >= kExpMin)) return 0.0f;
  const float k = floorf(y * kLog2e + 0.5f);
  const float r = (y - k * kLn2Hi) - k * kLn2Lo;
  float p = kE7 * r + kE6;
  p = p * r + kE5;
  p = p * r + kE4;
  p = p * r + kE3;
  p = p * r + kE2;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * float_of((uint32_t)((int32_t)k + 127) << 23);
}

// cos(2πu) for u in [0, 1): 4u = n + f exactly (n integer, |f| <= 1/2), then the quadrant n mod 4
// picks ±cos or ±sin of (π/2)·f
SEQFAIR_HD float cos2pi(float u) {
  const float v = u * 4.0f;
  const float n = floorf(v + 0.5f);
  const float f = v - n;
  const float f2 = f * f;
  const float c = ((((-kC10 * f2 + kC8) * f2 - kC6) * f2 + kC4) * f2 - kC2) * f2 + 1.0f;
  const float s = (((((-kS11 * f2 + kS9) * f2 - kS7) * f2 + kS5) * f2 - kS3) * f2 + kS1) * f;
  switch ((int32_t)n & 3) {
    case 0: return c;
    case 1: return -s;
    case 2: return -c;
    default: return s;
  }
}

}  // namespace pm
}  // namespace seqfair
