// Softmax cross-entropy per row, shared by the CPU and CUDA kernels (FORMAT.md 4.6 and 4.7).
//
//   row n of logits (C values; for the fused projection logits[n,v] = hidden[n]·table[v], V values)
//   ignored row (targets[n] == ignore_index): loss 0, lse 0 (never computed), no gradient
//   otherwise  lse[n]  = max + log Σ_c exp(logits[n,c] - max)      (online over chunks: softmax.h)
//              loss[n] = w[n] · (lse[n] - logits[n, targets[n]])   (w = 1 without weights)
//   backward   dlogits[n,c] = g[n] · (exp(logits[n,c] - lse[n]) - [c == targets[n]]),
//              g[n] = dLoss[n] · w[n]
#pragma once
#include <cmath>
#include <cstdint>

#include "seqfair/hd.h"

namespace seqfair {

// the per-row scale of the gradient (0 for an ignored row)
SEQFAIR_HD float ce_row_grad_scale(int32_t target, int32_t ignore_index, const float* weights, const float* dloss,
                                   int64_t n) {
  if (target == ignore_index) return 0.0f;
  return dloss[n] * (weights ? weights[n] : 1.0f);
}

// the loss of a row from its lse (kept in double until here) and target logit; the caller
// handles ignored rows
SEQFAIR_HD float ce_row_loss(double lse, float target_logit, const float* weights, int64_t n) {
  return (float)((weights ? (double)weights[n] : 1.0) * (lse - (double)target_logit));
}

// in place: a row of probabilities p = exp(logit - lse) becomes g · (p - onehot(target)) for the
// columns [c0, c0 + n) of the row
SEQFAIR_HD void ce_grad_from_prob(float* p, int64_t n, int64_t c0, int32_t target, float g) {
  for (int64_t c = 0; c < n; ++c) p[c] *= g;
  const int64_t t = (int64_t)target - c0;
  if (t >= 0 && t < n) p[t] -= g;
}

}  // namespace seqfair
