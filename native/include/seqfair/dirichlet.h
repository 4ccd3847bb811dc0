// One Dirichlet(alpha, ..., alpha) row, shared by the CPU and CUDA kernels (A-FSR Eq. 7).
//
//   row r of width K with c = counts[r] active entries (1 <= c <= K):
//   g_j = Gamma(alpha, 1) draw number key.offset + r·K + j (Marsaglia–Tsang, seqfair/philox.h),
//   out[j] = (float)(g_j / Σ_{j'<c} g_j') for j < c (normalised in double, rounded once), 0 for j >= c.
//   If every draw of the row underflows to 0 (only for alpha far below 1e-2) the row is uniform
//   1/c, as in the reference backend.
#pragma once
#include <cstdint>

#include "seqfair/hd.h"
#include "seqfair/philox.h"

namespace seqfair {

// scratch: c doubles, or null to draw every gamma twice (same counter, same value) instead
SEQFAIR_HD void dirichlet_row(const RngKey& key, int64_t r, int64_t K, int64_t c, double alpha, float* out,
                              double* scratch) {
  const uint64_t base = key.offset + (uint64_t)r * (uint64_t)K;
  double sum = 0.0;
  for (int64_t j = 0; j < c; ++j) {
    const double g = gamma_at(key, base + (uint64_t)j, alpha);
    if (scratch) scratch[j] = g;
    sum += g;
  }
  for (int64_t j = 0; j < c; ++j) {
    const double g = scratch ? scratch[j] : gamma_at(key, base + (uint64_t)j, alpha);
    out[j] = sum > 0.0 ? (float)(g / sum) : (float)(1.0 / (double)c);
  }
  for (int64_t j = c; j < K; ++j) out[j] = 0.0f;
}

}  // namespace seqfair
