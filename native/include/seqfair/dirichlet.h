// Gamma draws and one Dirichlet(alpha, ..., alpha) row, shared by the CPU and CUDA kernels
// (A-FSR Eq. 7); src/engine/philox.ts (logGammaAt) and src/backend/reference.ts (dirichlet) are
// the TypeScript twins and give the same bits.
//
// Gamma(alpha, 1) by Marsaglia & Tsang (2000), in float, with every transcendental from
// seqfair/portable_math.h so that the scalar code, the 8 AVX2 lanes (cpu/dirichlet_avx2.h), CUDA
// and TypeScript agree bit for bit. Draw d, attempt a uses Philox block (d, stream, tag 2 + a):
//   x = √(−2 log u(w0)) · cos(2π u(w1))     (Box–Muller; u(w0) in (0,1], u(w1) in [0,1))
//   t = 1 + c·x, v = t³                        (a = alpha, or alpha + 1 when alpha < 1;
//                                                 d = a − 1/3, c = 1/√(9d), both from double)
//   accept iff t > 0, v >= FLT_MIN and log u(w2) < (x²/2 + d(1 − v)) + d log v
// The draw is kept in log space: log g = (log d + log v) + log_boost, where for alpha < 1
// log_boost = log u(w3 of attempt 0) / alpha (Gamma(alpha) = Gamma(alpha + 1)·U^(1/alpha)), else 0.
// Log space is what lets tiny alphas work: g itself underflows float for alpha ≲ 0.05.
// (Float precision: the acceptance test loses about d·1e-7 in absolute terms, negligible for the
// alphas of A-FSR; alpha ≳ 1e5 would start to bias it.)
//
// Dirichlet row r of width K with c = counts[r] active entries (1 <= c <= K):
//   l_j = log g of draw key.offset + r·K + j (j < c), m = max_j l_j,
//   e_j = exp(l_j − m), S = Σ_{j<c} e_j summed in order of j from 0, out[j] = e_j / S (j < c),
//   out[j] = 0 for j >= c.  S >= 1, so no row can degenerate.
#pragma once
#include <cmath>
#include <cstdint>

#include "seqfair/hd.h"
#include "seqfair/philox.h"
#include "seqfair/portable_math.h"

namespace seqfair {

// per-alpha constants of the sampler, all rounded to float once from double
struct GammaParams {
  float d, c, log_d, inv_alpha;
  bool boost;  // alpha < 1
};

SEQFAIR_HD GammaParams gamma_params(double alpha) {
  const double a = alpha < 1.0 ? alpha + 1.0 : alpha;
  const double d = a - 1.0 / 3.0;
  GammaParams g;
  g.d = (float)d;
  g.c = (float)(1.0 / sqrt(9.0 * d));
  g.log_d = pm::log(g.d);
  g.inv_alpha = (float)(1.0 / alpha);
  g.boost = alpha < 1.0;
  return g;
}

// 24 random bits -> (0, 1] and [0, 1), exact in float
SEQFAIR_HD float u24_open0(uint32_t w) { return (float)((w >> 8) + 1u) * (1.0f / 16777216.0f); }
SEQFAIR_HD float u24(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

// smallest normal float: the acceptance test rejects any v below it (log v < −87 makes the
// right-hand side < −54 while log u >= −16.7), so pm::log only ever sees normal numbers
constexpr float kFltMin = 1.17549435e-38f;

// One Marsaglia–Tsang attempt on the words w0..w2 of its Philox block; on acceptance writes
// log d + log v to *lg and returns true.
SEQFAIR_HD bool gamma_attempt(uint32_t w0, uint32_t w1, uint32_t w2, const GammaParams& g, float* lg) {
  const float x = sqrtf(-2.0f * pm::log(u24_open0(w0))) * pm::cos2pi(u24(w1));
  const float t = 1.0f + g.c * x;
  if (!(t > 0.0f)) return false;
  const float v = (t * t) * t;
  if (!(v >= kFltMin)) return false;
  const float lv = pm::log(v);
  const float rhs = ((0.5f * x) * x + g.d * (1.0f - v)) + g.d * lv;
  if (!(pm::log(u24_open0(w2)) < rhs)) return false;
  *lg = g.log_d + lv;
  return true;
}

// log of the boost factor U^(1/alpha) from word 3 of attempt 0 (0 when alpha >= 1)
SEQFAIR_HD float gamma_log_boost(uint32_t w3, const GammaParams& g) {
  return g.boost ? pm::log(u24_open0(w3)) * g.inv_alpha : 0.0f;
}

// log of Gamma draw d of the stream
SEQFAIR_HD float gamma_log_draw(const RngKey& key, uint64_t d, const GammaParams& g) {
  float boost = 0.0f;
  for (uint32_t attempt = 0;; ++attempt) {
    const Philox4 w = philox_block(key.seed, d, key.stream, 2u + attempt);
    if (attempt == 0) boost = gamma_log_boost(w.w[3], g);
    float lg;
    if (gamma_attempt(w.w[0], w.w[1], w.w[2], g, &lg)) return lg + boost;
  }
}

// The normalisation of a row whose c log-draws are in out[0..c): out becomes the weights, and
// out[c..K) = 0.
SEQFAIR_HD void dirichlet_normalise(float* out, int64_t K, int64_t c) {
  float m = out[0];
  for (int64_t j = 1; j < c; ++j) m = out[j] > m ? out[j] : m;
  float s = 0.0f;
  for (int64_t j = 0; j < c; ++j) {
    out[j] = pm::exp(out[j] - m);
    s = s + out[j];
  }
  for (int64_t j = 0; j < c; ++j) out[j] = out[j] / s;
  for (int64_t j = c; j < K; ++j) out[j] = 0.0f;
}

// row r (of width K, c active) of a Dirichlet draw; out is the row itself (also its scratch)
SEQFAIR_HD void dirichlet_row(const RngKey& key, int64_t r, int64_t K, int64_t c, const GammaParams& g, float* out) {
  const uint64_t base = key.offset + (uint64_t)r * (uint64_t)K;
  for (int64_t j = 0; j < c; ++j) out[j] = gamma_log_draw(key, base + (uint64_t)j, g);
  dirichlet_normalise(out, K, c);
}

}  // namespace seqfair
