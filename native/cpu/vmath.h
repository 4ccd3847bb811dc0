// Vectorised exp-and-sum loops of the fused kernels (softmax cross-entropy, attention, GRU cell).
//
// Why: next to a GEMM with a small inner dimension (D = 32..128) a scalar expf per logit costs
// more than the dot product that produced it, so the exp passes get AVX-512 and AVX2+FMA
// variants, picked at run time from simd_level() (never -march=native). The vector exp is the
// Cephes single-precision polynomial (range reduction by ln2 split in two constants, degree-6
// polynomial on [-ln2/2, ln2/2]); it is within ~2 ulp of expf over the normal range, returns
// exactly 0 below ln(FLT_MIN) (so masked scores of -inf give 0, never NaN), +inf above ~88.38,
// and NaN for NaN. The scalar fallback uses std::exp. max_of lets NaN win, so a NaN logit or
// score gives a NaN loss / output, never a silently finite one.
//
// Results differ between SIMD levels in the last bits (as the summation order does), never
// between thread counts: every loop here is sequential on the caller's data.
//
//   exp_shift_sum(x, y, n, shift)   y[i] = exp(x[i] - shift) (y may be x or null), returns Σ y[i]
//   max_of(x, n)                     max x[i], -inf for n = 0
//   dot(a, b, n)                     Σ a[i] b[i] in float lanes
//   find_ge(x, n, thr)               first i with x[i] >= thr (the top-k scan)
#pragma once
// GCC 12's AVX-512 intrinsics initialise their "undefined" operand with itself, which
// -Wmaybe-uninitialized reports at every inlined use; the code is correct.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "cpu/simd.h"

namespace seqfair {
namespace vm {

// ---- scalar ---------------------------------------------------------------------------------

inline float exp_shift_sum_scalar(const float* x, float* y, int64_t n, float shift) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) {
      const float e = std::exp(x[i + l] - shift);
      if (y) y[i + l] = e;
      acc[l] += e;
    }
  }
  for (; i < n; ++i) {
    const float e = std::exp(x[i] - shift);
    if (y) y[i] = e;
    acc[i & 7] += e;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

inline float dot_scalar(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
  for (; i < n; ++i) acc[i & 7] += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

inline int64_t find_ge_scalar(const float* x, int64_t n, float thr) {
  int64_t i = 0;
  while (i < n && !(x[i] >= thr)) ++i;
  return i;
}

inline float max_of_scalar(const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) m = (x[i] > m || x[i] != x[i]) && m == m ? x[i] : m;  // NaN wins
  return m;
}

// ---- AVX2 + FMA -----------------------------------------------------------------------------

__attribute__((target("avx2,fma"))) inline __m256 exp256(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f);
  const __m256 lo = _mm256_set1_ps(-87.3365447504019f);
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);  // includes -inf
  const __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);   // includes +inf
  // min/max return their second operand when either is NaN: x second keeps NaN as NaN
  x = _mm256_min_ps(hi, x);
  x = _mm256_max_ps(lo, x);
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n as a float: n in [-126, 127] after the clamp, so the exponent field stays normal
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  const __m256 y = _mm256_blendv_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), _mm256_set1_ps(INFINITY), over);
  return _mm256_andnot_ps(under, y);
}

__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

__attribute__((target("avx2,fma"))) inline float exp_shift_sum_avx2(const float* x, float* y, int64_t n, float shift) {
  const __m256 sh = _mm256_set1_ps(shift);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 e0 = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
    const __m256 e1 = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), sh));
    if (y) {
      _mm256_storeu_ps(y + i, e0);
      _mm256_storeu_ps(y + i + 8, e1);
    }
    acc0 = _mm256_add_ps(acc0, e0);
    acc1 = _mm256_add_ps(acc1, e1);
  }
  if (i < n) {
    alignas(32) float tx[16], ty[16];
    const int64_t rem = n - i;
    for (int64_t l = 0; l < 16; ++l) tx[l] = l < rem ? x[i + l] : -INFINITY;
    const __m256 e0 = exp256(_mm256_sub_ps(_mm256_load_ps(tx), sh));
    const __m256 e1 = exp256(_mm256_sub_ps(_mm256_load_ps(tx + 8), sh));
    _mm256_store_ps(ty, e0);
    _mm256_store_ps(ty + 8, e1);
    if (y) for (int64_t l = 0; l < rem; ++l) y[i + l] = ty[l];
    acc0 = _mm256_add_ps(acc0, e0);
    acc1 = _mm256_add_ps(acc1, e1);
  }
  return hsum256(_mm256_add_ps(acc0, acc1));
}

__attribute__((target("avx2,fma"))) inline float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  float r = hsum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

__attribute__((target("avx2,fma"))) inline int64_t find_ge_avx2(const float* x, int64_t n, float thr) {
  const __m256 t = _mm256_set1_ps(thr);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), t, _CMP_GE_OQ));
    if (m) return i + __builtin_ctz((unsigned)m);
  }
  return i + find_ge_scalar(x + i, n - i, thr);
}

__attribute__((target("avx2,fma"))) inline float max_of_avx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    m = _mm256_max_ps(m, v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  if (_mm256_movemask_ps(nan)) return NAN;  // NaN wins, as in the scalar definition
  alignas(32) float t[8];
  _mm256_store_ps(t, m);
  float r = -INFINITY;
  for (int l = 0; l < 8; ++l) r = t[l] > r ? t[l] : r;
  for (; i < n; ++i) r = (x[i] > r || x[i] != x[i]) && r == r ? x[i] : r;
  return r;
}

// ---- AVX-512 --------------------------------------------------------------------------------

// horizontal reductions through memory in a fixed order (GCC 12's _mm512_reduce_* trip
// -Wuninitialized inside its own headers)
__attribute__((target("avx512f"))) inline float hsum512(__m512 v) {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  float a[4];
  for (int l = 0; l < 4; ++l) a[l] = (t[l] + t[l + 4]) + (t[l + 8] + t[l + 12]);
  return (a[0] + a[1]) + (a[2] + a[3]);
}

__attribute__((target("avx512f"))) inline float hmax512(__m512 v) {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  float r = t[0];
  for (int l = 1; l < 16; ++l) r = t[l] > r ? t[l] : r;
  return r;
}

__attribute__((target("avx512f"))) inline __m512 exp512(__m512 x) {
  const __m512 hi = _mm512_set1_ps(88.3762626647949f);
  const __m512 lo = _mm512_set1_ps(-87.3365447504019f);
  const __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
  const __mmask16 over = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ);
  x = _mm512_min_ps(hi, x);  // NaN stays NaN (second operand)
  x = _mm512_max_ps(lo, x);
  const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
  const __m512 y = _mm512_mask_mov_ps(_mm512_mul_ps(p, _mm512_castsi512_ps(e)), over, _mm512_set1_ps(INFINITY));
  return _mm512_maskz_mov_ps((__mmask16)~under, y);
}

__attribute__((target("avx512f"))) inline float exp_shift_sum_avx512(const float* x, float* y, int64_t n,
                                                                      float shift) {
  const __m512 sh = _mm512_set1_ps(shift);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 e0 = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), sh));
    const __m512 e1 = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), sh));
    if (y) {
      _mm512_storeu_ps(y + i, e0);
      _mm512_storeu_ps(y + i + 16, e1);
    }
    acc0 = _mm512_add_ps(acc0, e0);
    acc1 = _mm512_add_ps(acc1, e1);
  }
  for (; i < n; i += 16) {
    const int64_t rem = n - i;
    const __mmask16 m = rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1u);
    const __m512 xv = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, x + i);
    const __m512 e = exp512(_mm512_sub_ps(xv, sh));
    if (y) _mm512_mask_storeu_ps(y + i, m, e);
    acc0 = _mm512_add_ps(acc0, e);
  }
  return hsum512(_mm512_add_ps(acc0, acc1));
}

__attribute__((target("avx512f"))) inline float dot_avx512(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const int64_t rem = n - i;
    const __mmask16 m = rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1u);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return hsum512(_mm512_add_ps(acc0, acc1));
}

__attribute__((target("avx512f"))) inline int64_t find_ge_avx512(const float* x, int64_t n, float thr) {
  const __m512 t = _mm512_set1_ps(thr);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const unsigned m = (unsigned)_mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), t, _CMP_GE_OQ);
    if (m) return i + __builtin_ctz(m);
  }
  return i + find_ge_scalar(x + i, n - i, thr);
}

__attribute__((target("avx512f"))) inline float max_of_avx512(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-INFINITY);
  __mmask16 nan = 0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    m = _mm512_max_ps(m, v);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  }
  if (i < n) {
    const __mmask16 k = (__mmask16)((1u << (n - i)) - 1u);
    const __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, x + i);
    m = _mm512_max_ps(m, v);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  }
  if (nan) return NAN;  // NaN wins, as in the scalar definition
  return hmax512(m);
}

// ---- dispatch -------------------------------------------------------------------------------

inline float exp_shift_sum(const float* x, float* y, int64_t n, float shift) {
  switch (simd_level()) {
    case SimdLevel::Avx512: return exp_shift_sum_avx512(x, y, n, shift);
    case SimdLevel::Avx2: return exp_shift_sum_avx2(x, y, n, shift);
    default: return exp_shift_sum_scalar(x, y, n, shift);
  }
}

inline float dot(const float* a, const float* b, int64_t n) {
  switch (simd_level()) {
    case SimdLevel::Avx512: return dot_avx512(a, b, n);
    case SimdLevel::Avx2: return dot_avx2(a, b, n);
    default: return dot_scalar(a, b, n);
  }
}

// first i with x[i] >= thr (NaN never qualifies), n when none
inline int64_t find_ge(const float* x, int64_t n, float thr) {
  switch (simd_level()) {
    case SimdLevel::Avx512: return find_ge_avx512(x, n, thr);
    case SimdLevel::Avx2: return find_ge_avx2(x, n, thr);
    default: return find_ge_scalar(x, n, thr);
  }
}

inline float max_of(const float* x, int64_t n) {
  switch (simd_level()) {
    case SimdLevel::Avx512: return max_of_avx512(x, n);
    case SimdLevel::Avx2: return max_of_avx2(x, n);
    default: return max_of_scalar(x, n);
  }
}

}  // namespace vm
}  // namespace seqfair

#pragma GCC diagnostic pop
