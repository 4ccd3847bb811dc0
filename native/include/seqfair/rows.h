// Small per-row pieces shared by the CPU and CUDA kernels that are not in a header of their own
// (both the CPU drivers named below and the CUDA kernels call them):
//   row_l2_norm          ||x||₂ of D floats, summed in double        (gradNorm: cpu/embedding.cc)
//   first_argmax_update  "the first maximum wins" scan step          (gradNorm: cpu/embedding.cc)
//   cosine_normalize_row y = x / ||x|| (norm in double; zero row → zero; -0 → +0)
//                                                                   (cosineTopk: cpu/neighbours.cc)
// The softmax element functions are in seqfair/softmax.h.
#pragma once
#include <cmath>
#include <cstdint>

#include "seqfair/hd.h"

namespace seqfair {

SEQFAIR_HD float row_l2_norm(const float* x, int64_t D) {
  double s = 0;
  for (int64_t d = 0; d < D; ++d) s += (double)x[d] * (double)x[d];
  return (float)sqrt(s);
}

// one step of the scan over l = 0, 1, ...: l == 0 or a strictly larger value takes the lead
SEQFAIR_HD void first_argmax_update(float v, int32_t l, float* best, int32_t* best_l) {
  if (l == 0 || v > *best) {
    *best = v;
    *best_l = l;
  }
}

SEQFAIR_HD void cosine_normalize_row(const float* x, float* y, int64_t D) {
  double sq = 0;
  for (int64_t d = 0; d < D; ++d) sq += (double)x[d] * (double)x[d];
  const double inv = sq > 0 ? 1.0 / sqrt(sq) : 0.0;
  for (int64_t d = 0; d < D; ++d) y[d] = (float)((double)x[d] * inv) + 0.0f;
}

}  // namespace seqfair
