// NARM's local-encoder attention (Li et al. 2017, Eq. 7-8) for one (query, key) pair, shared by the
// CPU and CUDA kernels:
//   α = Σ_d w_d σ(q_d + k_d)
// and its backward with g = ∂L/∂α, s_d = σ(q_d + k_d):
//   ∂L/∂w_d += g s_d,   ∂L/∂q_d += g w_d s_d (1 - s_d),   ∂L/∂k_d += the same.
// Query row t of T rows sits at position L - T + t of the L keys (the queries are the last T
// positions: T = L for every prefix, T = 1 for the whole sequence only) and sees keys j <= it.
#pragma once
#include <cstdint>

#include "seqfair/gru_cell.h"
#include "seqfair/hd.h"

namespace seqfair {

SEQFAIR_HD int64_t narm_query_position(int64_t t, int64_t T, int64_t L) { return L - T + t; }

// σ(q + k) per unit, σ as in the GRU cell (1 / (1 + e^-x): 0 and 1 at the extremes, NaN for NaN)
SEQFAIR_HD float narm_unit_sigmoid(float q, float k) { return gru_sigmoid(q + k); }

// α of one pair, summed over the H units in order
SEQFAIR_HD float narm_pair_score(const float* q, const float* k, const float* w, int64_t H) {
  float acc = 0.0f;
  for (int64_t d = 0; d < H; ++d) acc += w[d] * narm_unit_sigmoid(q[d], k[d]);
  return acc;
}

// the unit's share of ∂L/∂q and ∂L/∂k for upstream g; *dw_part gets g·s
SEQFAIR_HD float narm_unit_backward(float g, float q, float k, float w, float* dw_part) {
  const float s = narm_unit_sigmoid(q, k);
  *dw_part = g * s;
  return g * w * s * (1.0f - s);
}

}  // namespace seqfair
