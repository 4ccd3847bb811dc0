// Integer screen of the cosine top-k (cpu/neighbours.cc): 8-bit copies of the normalised rows,
// dot products of 8 queries × 8 candidates at a time with AVX2 byte multiplies, and a rigorous
// bound on how far such a product can be from the exact similarity. A candidate whose screened
// value is too low for the query's current k-th best is provably not in the top-k and is never
// looked at again; the others get the exact float similarity (exact_dot) and topk_insert.
//
// Why: on AVX2 the float GEMM of 4,096 queries × 100,000 items × 64 is ~270 ms at the FMA peak
// of two cores; vpmaddubsw does 32 byte multiply-adds per instruction, and the exact values are
// only needed for the few candidates near the top.
//
// Quantisation (FORMAT.md 4.10's similarities stay the float ones):
//   candidates  x̂ = round(x · b) in [-31, 31], one scale b = 31 / max |x| over all rows, stored
//               as x̂ + 32 (the unsigned operand of vpmaddubsw)
//   queries     q̂ = round(q · a) in [-127, 127], a = 127 / max |q| per query (the signed operand)
//   a byte pair sums to at most 2 · 63 · 127 = 16002, so vpmaddubsw never saturates and two such
//   sums add in 16 bits; Σ (x̂ + 32) q̂ = Σ q̂ x̂ + 32 Σ q̂ (the second term is per query).
// With e_x = max |x̂/b − x|, e_q = max |q̂/a − q| (measured, not assumed) and L1x = max_j ‖x_j‖₁:
//   |q·x − Σ q̂ x̂ / (a b)| ≤ E = e_x ‖q‖₁ + e_q L1x + D e_q e_x
// and the float exact_dot is within D·2^-23 of q·x (‖q‖, ‖x‖ ≤ 1). So with τ the current k-th best,
//   Σ (x̂+32) q̂ < T + 32 Σ q̂,  T = floor((τ − E − slack) · a · b)   ⇒   similarity < τ  (skip).
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace seqfair {
namespace topk_i8 {

constexpr int32_t kTMin = -(1 << 30), kTMax = 1 << 29;  // T is clamped: T + 32 Σ q̂ never overflows

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Candidates packed for the kernel: blocks of 8, each block Dp/4 groups of 32 bytes
// [cand 0 dims 4g..4g+3, cand 1 ..., cand 7 ...]; Dp = D rounded up to 8 (zero dims).
// Byte offset of (candidate j, dim d):
inline int64_t packed_offset(int64_t j, int64_t d, int64_t Dp) {
  return (j >> 3) * 8 * Dp + (d >> 2) * 32 + (j & 7) * 4 + (d & 3);
}

// Candidate j's bytes x̂ + 32 into the packed layout; raises *err to max |x̂/b − x| and *l1 to
// ‖x‖₁ where larger. (Compiled for AVX2 so the rounding is one instruction, not a call.)
__attribute__((target("avx2,fma"))) inline void quantize_candidate(const float* x, int64_t D, double b, int64_t j,
                                                                    int64_t Dp, uint8_t* packed, double* err,
                                                                    double* l1) {
  double e = *err, l = 0;
  uint8_t* out = packed + packed_offset(j, 0, Dp);
  for (int64_t d = 0; d < D; ++d) {
    const double xd = x[d];
    const double t = std::nearbyint(std::min(31.0, std::max(-31.0, xd * b)));
    out[(d >> 2) * 32 + (d & 3)] = (uint8_t)(t + 32);
    e = std::max(e, std::fabs(t / b - xd));
    l += std::fabs(xd);
  }
  *err = e;
  *l1 = std::max(*l1, l);
}

// q̂ of one query value (one function for the bytes and for Σ q̂, so they agree)
inline double quantize_query_value(float q, double a) {
  return std::min(127.0, std::max(-127.0, std::nearbyint((double)q * a)));
}

// 1 when no value of the row is NaN or ±inf (integer test of the exponent bits, vectorisable)
inline bool row_finite(const float* y, int64_t D) {
  uint32_t bad = 0;
  for (int64_t d = 0; d < D; ++d) {
    uint32_t u;
    std::memcpy(&u, y + d, 4);
    bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

// max |y| of finite values, compared as bit patterns (monotone for |y|; an integer max vectorises)
inline float max_abs(const float* y, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, y + i, 4);
    m = std::max(m, u & 0x7fffffffu);
  }
  float f;
  std::memcpy(&f, &m, 4);
  return f;
}

// Exact similarity of two normalised rows in float, in one fixed order (8 lanes, then a fixed
// reduction, then the tail), so the same pair always gets the same value wherever it is met.
__attribute__((target("avx2,fma"))) inline float exact_dot(const float* a, const float* b, int64_t D) {
  __m256 acc = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 8 <= D; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), acc);
  const __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  const __m128 h2 = _mm_add_ps(h, _mm_movehl_ps(h, h));
  float s = _mm_cvtss_f32(_mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
  for (; d < D; ++d) s += a[d] * b[d];
  return s + 0.0f;  // -0 → +0
}

// acc + Σ over the 8 dims of groups g, g+1 of (x̂+32)·q̂ for the 8 candidates of xg, xh; q: the
// query's bytes of the two groups, each group's 4 bytes repeated 8 times (64 bytes), read by the
// multiplies straight from memory. The two byte-pair sums are added in 16 bits before widening.
__attribute__((target("avx2"))) inline __m256i group_step(__m256i acc, const int8_t* q, __m256i xg, __m256i xh,
                                                          __m256i ones) {
  const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(xg, _mm256_loadu_si256((const __m256i*)q)),
                                     _mm256_maddubs_epi16(xh, _mm256_loadu_si256((const __m256i*)(q + 32))));
  return _mm256_add_epi32(_mm256_madd_epi16(p, ones), acc);
}

// lanes with acc < thr (the candidates that fail the query's threshold) as all-ones
__attribute__((target("avx2"))) inline __m256i fail_lanes(__m256i acc, int32_t thr) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(thr), acc);
}

// Σ (x̂+32) q̂ for 8 queries (rows of q8 in group_step's repeated layout, stride 8·Dp bytes; Dp a
// multiple of 8) × the 8 candidates of one packed block x8; calls pass(r, mask) for each query r
// with a byte mask of the candidates whose sum reaches thr[r]. The 8 accumulators, the block's
// two vectors and `ones` stay in registers; the queries' bytes come from L1.
template <typename Pass>
__attribute__((target("avx2"))) inline void screen_tile(const int8_t* q8, int64_t Dp, const uint8_t* x8,
                                                        const int32_t* thr, Pass&& pass) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t qs = 8 * Dp;
#pragma GCC unroll 2
  for (int64_t g = 0; g < Dp / 4; g += 2) {
    const __m256i xg = _mm256_loadu_si256((const __m256i*)(x8 + g * 32));
    const __m256i xh = _mm256_loadu_si256((const __m256i*)(x8 + g * 32 + 32));
    const int8_t* q = q8 + g * 32;
    a0 = group_step(a0, q, xg, xh, ones);
    a1 = group_step(a1, q + qs, xg, xh, ones);
    a2 = group_step(a2, q + 2 * qs, xg, xh, ones);
    a3 = group_step(a3, q + 3 * qs, xg, xh, ones);
    a4 = group_step(a4, q + 4 * qs, xg, xh, ones);
    a5 = group_step(a5, q + 5 * qs, xg, xh, ones);
    a6 = group_step(a6, q + 6 * qs, xg, xh, ones);
    a7 = group_step(a7, q + 7 * qs, xg, xh, ones);
  }
  const __m256i f[8] = {fail_lanes(a0, thr[0]), fail_lanes(a1, thr[1]), fail_lanes(a2, thr[2]), fail_lanes(a3, thr[3]),
                        fail_lanes(a4, thr[4]), fail_lanes(a5, thr[5]), fail_lanes(a6, thr[6]), fail_lanes(a7, thr[7])};
  // the common case, every candidate fails for every query, costs one test
  const __m256i all = _mm256_and_si256(_mm256_and_si256(_mm256_and_si256(f[0], f[1]), _mm256_and_si256(f[2], f[3])),
                                       _mm256_and_si256(_mm256_and_si256(f[4], f[5]), _mm256_and_si256(f[6], f[7])));
  if (_mm256_movemask_ps(_mm256_castsi256_ps(all)) == 0xFF) return;
  for (int r = 0; r < 8; ++r) {
    const int m = ~_mm256_movemask_ps(_mm256_castsi256_ps(f[r])) & 0xFF;
    if (m) pass(r, m);
  }
}

}  // namespace topk_i8
}  // namespace seqfair

#pragma GCC diagnostic pop
