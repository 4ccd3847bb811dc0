// LayerNorm over the last dimension, FORMAT.md 4.2. One row of D values:
//   μ = Σx / D,  var = Σ(x − μ)² / D  (biased, two passes: stable for rows like 1000 + N(0,1)),
//   rstd = 1 / sqrt(var + eps),  x̂ = (x − μ)·rstd,  y = x̂ · γ + β
// Backward of one row, with g = dy ⊙ γ:
//   dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂))
//   dγ += dy ⊙ x̂,  dβ += dy   (summed over rows by the caller, deterministically)
// Acc is the accumulation type (double in these row functions; the CPU's AVX2 rows use the same
// element formulas, layer_norm_elem / layer_norm_dx_elem, in float lanes).
#pragma once
#include <cmath>
#include <cstdint>

#include "seqfair/hd.h"

namespace seqfair {

// y = x̂ · γ + β with x̂ = (x − μ)·rstd, in T
template <typename T>
SEQFAIR_HD float layer_norm_elem(T x, T mu, T rstd, T gamma, T beta) {
  return (float)((x - mu) * rstd * gamma + beta);
}

// dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)), g = dy·γ, in T
template <typename T>
SEQFAIR_HD float layer_norm_dx_elem(T x, T mu, T rstd, T g, T mean_g, T mean_gx) {
  const T xh = (x - mu) * rstd;
  return (float)(rstd * (g - mean_g - xh * mean_gx));
}

template <typename Acc = double>
SEQFAIR_HD void layer_norm_row_forward(const float* x, const float* gamma, const float* beta, float* y, int64_t D,
                                       float eps, float* mean_out, float* rstd_out) {
  Acc s = 0;
  for (int64_t d = 0; d < D; ++d) s += (Acc)x[d];
  const Acc mu = s / (Acc)D;
  Acc ss = 0;
  for (int64_t d = 0; d < D; ++d) {
    const Acc c = (Acc)x[d] - mu;
    ss += c * c;
  }
  const Acc rstd = Acc(1) / sqrt(ss / (Acc)D + (Acc)eps);
  for (int64_t d = 0; d < D; ++d) y[d] = layer_norm_elem<Acc>((Acc)x[d], mu, rstd, (Acc)gamma[d], (Acc)beta[d]);
  *mean_out = (float)mu;
  *rstd_out = (float)rstd;
}

// dx of one row (dx may alias dy).
template <typename Acc = double>
SEQFAIR_HD void layer_norm_row_backward_dx(const float* x, const float* gamma, float mean, float rstd,
                                           const float* dy, float* dx, int64_t D) {
  Acc sg = 0, sgx = 0;
  for (int64_t d = 0; d < D; ++d) {
    const Acc g = (Acc)dy[d] * (Acc)gamma[d];
    const Acc xh = ((Acc)x[d] - (Acc)mean) * (Acc)rstd;
    sg += g;
    sgx += g * xh;
  }
  const Acc mg = sg / (Acc)D, mgx = sgx / (Acc)D;
  for (int64_t d = 0; d < D; ++d) {
    dx[d] = layer_norm_dx_elem<Acc>((Acc)x[d], (Acc)mean, (Acc)rstd, (Acc)dy[d] * (Acc)gamma[d], mg, mgx);
  }
}

// Adds one row's contribution to the parameter gradients (accumulators of D values).
template <typename Acc = double>
SEQFAIR_HD void layer_norm_row_param_grads(const float* x, float mean, float rstd, const float* dy, Acc* dgamma,
                                           Acc* dbeta, int64_t D) {
  for (int64_t d = 0; d < D; ++d) {
    const Acc xh = ((Acc)x[d] - (Acc)mean) * (Acc)rstd;
    dgamma[d] += (Acc)dy[d] * xh;
    dbeta[d] += (Acc)dy[d];
  }
}

}  // namespace seqfair
