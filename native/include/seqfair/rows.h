// Small per-row and per-element pieces shared by the CPU and CUDA kernels that are not in a header
// of their own yet (the CUDA kernels call these; the CPU drivers named below compute the same
// expressions inline and can call them instead):
//   row_l2_norm          ||x||₂ of D floats, summed in double        (gradNorm: cpu/embedding.cc)
//   first_argmax_update  "the first maximum wins" scan step          (gradNorm: cpu/embedding.cc)
//   cosine_normalize_row y = x / ||x|| (norm in double; zero row → zero; -0 → +0)
//                                                                   (cosineTopk: cpu/neighbours.cc)
//   softmax_elem         (float)(exp(x - max) · (1/Σ))  with the reciprocal in double
//   softmax_backward_elem (float)(y · (dy - <y,dy>)) in double       (both: seqfair/softmax.h rows)
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

SEQFAIR_HD float softmax_elem(float x, float row_max, double inv_sum) {
  return (float)((double)expf(x - row_max) * inv_sum);
}

SEQFAIR_HD float softmax_backward_elem(float y, float dy, double dot) {
  return (float)((double)y * ((double)dy - dot));
}

}  // namespace seqfair
