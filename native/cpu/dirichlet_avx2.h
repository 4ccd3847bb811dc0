// The Gamma sampler of seqfair/dirichlet.h, 8 draws per AVX2 vector, lane for lane the same
// operations as the scalar functions of seqfair/portable_math.h and seqfair/dirichlet.h (so the
// same bits). Compiled for "avx2" only, never "fma": GCC may contract a separate multiply and add
// into an FMA where FMA is enabled, which would round differently from the scalar definition.
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstdint>

#include "seqfair/dirichlet.h"
#include "seqfair/portable_math.h"

namespace seqfair {
namespace vgamma {

#define SF_AVX2 __attribute__((target("avx2"))) inline

SF_AVX2 __m256 set(float x) { return _mm256_set1_ps(x); }
SF_AVX2 __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
SF_AVX2 __m256 sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
SF_AVX2 __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }

// pm::log, for lanes holding positive normal floats
SF_AVX2 __m256 log(__m256 x) {
  const __m256i b = _mm256_castps_si256(x);
  __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(b, 23), _mm256_set1_epi32(127));
  __m256 m = _mm256_castsi256_ps(
      _mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(0x7fffff)), _mm256_set1_epi32(0x3f800000)));
  const __m256 big = _mm256_cmp_ps(m, set(pm::kSqrt2), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, mul(m, set(0.5f)), big);
  e = _mm256_sub_epi32(e, _mm256_castps_si256(big));  // the mask is -1: e + 1
  const __m256 s = _mm256_div_ps(sub(m, set(1.0f)), add(m, set(1.0f)));
  const __m256 s2 = mul(s, s);
  __m256 p = add(mul(set(pm::kL9), s2), set(pm::kL7));
  p = add(mul(p, s2), set(pm::kL5));
  p = add(mul(p, s2), set(pm::kL3));
  p = mul(p, s2);
  const __m256 logm = add(mul(set(2.0f), s), mul(s, p));
  const __m256 ef = _mm256_cvtepi32_ps(e);
  return add(add(mul(ef, set(pm::kLn2Lo)), logm), mul(ef, set(pm::kLn2Hi)));
}

// pm::exp
SF_AVX2 __m256 exp(__m256 y) {
  const __m256 ok = _mm256_cmp_ps(y, set(pm::kExpMin), _CMP_GE_OQ);
  y = _mm256_and_ps(y, ok);  // any finite value for the lanes that return 0
  const __m256 k = _mm256_floor_ps(add(mul(y, set(pm::kLog2e)), set(0.5f)));
  const __m256 r = sub(sub(y, mul(k, set(pm::kLn2Hi))), mul(k, set(pm::kLn2Lo)));
  __m256 p = add(mul(set(pm::kE7), r), set(pm::kE6));
  p = add(mul(p, r), set(pm::kE5));
  p = add(mul(p, r), set(pm::kE4));
  p = add(mul(p, r), set(pm::kE3));
  p = add(mul(p, r), set(pm::kE2));
  p = add(mul(p, r), set(1.0f));
  p = add(mul(p, r), set(1.0f));
  const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(mul(p, _mm256_castsi256_ps(scale)), ok);
}

// pm::cos2pi
SF_AVX2 __m256 cos2pi(__m256 u) {
  const __m256 v = mul(u, set(4.0f));
  const __m256 n = _mm256_floor_ps(add(v, set(0.5f)));
  const __m256 f = sub(v, n);
  const __m256 f2 = mul(f, f);
  // the same Horner steps as pm::cos2pi
  __m256 c = add(mul(set(-pm::kC10), f2), set(pm::kC8));
  c = sub(mul(c, f2), set(pm::kC6));
  c = add(mul(c, f2), set(pm::kC4));
  c = sub(mul(c, f2), set(pm::kC2));
  c = add(mul(c, f2), set(1.0f));
  __m256 s = add(mul(set(-pm::kS11), f2), set(pm::kS9));
  s = sub(mul(s, f2), set(pm::kS7));
  s = add(mul(s, f2), set(pm::kS5));
  s = sub(mul(s, f2), set(pm::kS3));
  s = add(mul(s, f2), set(pm::kS1));
  s = mul(s, f);
  // quadrant q = n mod 4: 0 → c, 1 → −s, 2 → −c, 3 → s
  const __m256i q = _mm256_and_si256(_mm256_cvttps_epi32(n), _mm256_set1_epi32(3));
  const __m256 odd = _mm256_castsi256_ps(_mm256_slli_epi32(q, 31));                     // sign bit set when q odd
  const __m256i negq = _mm256_and_si256(_mm256_add_epi32(q, _mm256_set1_epi32(1)), _mm256_set1_epi32(2));
  const __m256 sign = _mm256_castsi256_ps(_mm256_slli_epi32(negq, 30));                 // q = 1, 2
  return _mm256_xor_ps(_mm256_blendv_ps(c, s, odd), sign);
}

// u24_open0 / u24 of seqfair/dirichlet.h
SF_AVX2 __m256 u24_open0(__m256i w) {
  const __m256i u = _mm256_add_epi32(_mm256_srli_epi32(w, 8), _mm256_set1_epi32(1));
  return mul(_mm256_cvtepi32_ps(u), set(1.0f / 16777216.0f));
}
SF_AVX2 __m256 u24(__m256i w) { return mul(_mm256_cvtepi32_ps(_mm256_srli_epi32(w, 8)), set(1.0f / 16777216.0f)); }

// gamma_attempt on 8 lanes: returns the acceptance mask, *lg = log d + log v in every lane
SF_AVX2 __m256 attempt(__m256i w0, __m256i w1, __m256i w2, const GammaParams& g, __m256* lg) {
  const __m256 x = mul(_mm256_sqrt_ps(mul(set(-2.0f), log(u24_open0(w0)))), cos2pi(u24(w1)));
  const __m256 t = add(set(1.0f), mul(set(g.c), x));
  const __m256 v = mul(mul(t, t), t);
  const __m256 ok = _mm256_and_ps(_mm256_cmp_ps(t, _mm256_setzero_ps(), _CMP_GT_OQ),
                                  _mm256_cmp_ps(v, set(kFltMin), _CMP_GE_OQ));
  const __m256 lv = log(_mm256_blendv_ps(set(1.0f), v, ok));  // rejected lanes: any normal value
  const __m256 dv = set(g.d);
  const __m256 rhs = add(add(mul(mul(set(0.5f), x), x), mul(dv, sub(set(1.0f), v))), mul(dv, lv));
  *lg = add(set(g.log_d), lv);
  return _mm256_and_ps(ok, _mm256_cmp_ps(log(u24_open0(w2)), rhs, _CMP_LT_OQ));
}

// gamma_log_boost on 8 lanes
SF_AVX2 __m256 log_boost(__m256i w3, const GammaParams& g) {
  return g.boost ? mul(log(u24_open0(w3)), set(g.inv_alpha)) : _mm256_setzero_ps();
}

#undef SF_AVX2

}  // namespace vgamma
}  // namespace seqfair

#pragma GCC diagnostic pop
