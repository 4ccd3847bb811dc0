// Multi-head attention per (batch, head, query row), shared by the CPU and CUDA kernels
// (FORMAT.md 4.4, plus dropout on the attention weights).
//
//   q, k, v, out (B,H,L,dh), or with interleaved heads (B,L,H,dh) (a (B,L,H·dh) projection as it
//   stands, no permute); key_mask (B,L) of 0/1; lse (B,H,L) in both layouts
//   key j allowed for query i  iff  key_mask[b,j] = 1 and (!causal || j <= i)
//   s_ij = scale · q_i·k_j (allowed j), p_i = softmax(s_i), lse_i = log Σ_j exp(s_ij)
//   dropout p: m_ij = keep_ij / (1-p), keep_ij = uniform(key, key.offset + e) >= p,
//              e = ((b*H + h)*L + i)*L + j;   out_i = Σ_j p_ij m_ij v_j
//   a row with no allowed key: out_i = 0, lse_i = -inf, no gradient
//   backward (p rebuilt as exp(s - lse)):
//     dv_j += p_ij m_ij dout_i,  dP_ij = m_ij dout_i·v_j,  dS_ij = p_ij (dP_ij - Σ_l p_il dP_il)
//     dq_i = scale Σ_j dS_ij k_j,  dk_j += scale Σ_i dS_ij q_i
// Online softmax / log-sum-exp helpers are in seqfair/softmax.h.
#pragma once
#include <cmath>
#include <cstdint>

#include "seqfair/hd.h"
#include "seqfair/philox.h"

namespace seqfair {

// The shape and options of one attention call, as both addons parse them (kernel_args_fused.h)
// and both kernels take them.
struct AttnDims {
  int64_t B = 0, H = 0, L = 0, dh = 0;
  bool causal = false;
  float scale = 1.0f;
  double dropout = 0.0;
  RngKey key{0, 0, 0};       // used only when dropout > 0
  bool interleaved = false;  // q, k, v, out and gradients (B,L,H,dh) instead of (B,H,L,dh)
};

// Offset of row i of head bh = b·H + h in q, k, v, out and their gradients, and the distance
// between consecutive rows of a head: (B,H,L,dh) or, interleaved, (B,L,H,dh).
SEQFAIR_HD int64_t attn_row_offset(int64_t bh, int64_t i, int64_t H, int64_t L, int64_t dh, bool interleaved) {
  return interleaved ? ((bh / H) * L + i) * H * dh + (bh % H) * dh : (bh * L + i) * dh;
}
SEQFAIR_HD int64_t attn_row_stride(int64_t H, int64_t dh, bool interleaved) { return interleaved ? H * dh : dh; }

SEQFAIR_HD bool attn_allowed(const int32_t* mask_b, bool causal, int64_t i, int64_t j) {
  return mask_b[j] == 1 && (!causal || j <= i);
}

// Index of attention weight (bh, i, j) in the dropout stream (before key.offset).
SEQFAIR_HD uint64_t attn_dropout_element(int64_t bh, int64_t L, int64_t i, int64_t j) {
  return ((uint64_t)bh * (uint64_t)L + (uint64_t)i) * (uint64_t)L + (uint64_t)j;
}

// mult[j] = m_{i, j0+j} for j in [0, n): 1/(1-p) where kept, 0 where dropped. One Philox block
// gives the uniforms of 4 consecutive elements, so a row costs n/4 blocks.
SEQFAIR_HD void attn_dropout_row(float* mult, int64_t n, const RngKey& key, uint64_t e0, double p, float inv_keep) {
  int64_t j = 0;
  while (j < n) {
    const uint64_t e = key.offset + e0 + (uint64_t)j;
    const Philox4 blk = philox_block(key.seed, e >> 2, key.stream, 0);
    for (uint32_t w = (uint32_t)(e & 3); w < 4 && j < n; ++w, ++j) {
      mult[j] = u32_to_uniform(blk.w[w]) >= p ? inv_keep : 0.0f;
    }
  }
}

// A score row of keys [j0, j0+n) for query i: scale the allowed scores, -inf elsewhere.
// Returns the maximum (-inf when no key is allowed).
SEQFAIR_HD float attn_mask_scale_row(float* s, int64_t n, const int32_t* mask_b, bool causal, int64_t i, int64_t j0,
                                     float scale) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    const float v = attn_allowed(mask_b, causal, i, j0 + j) ? s[j] * scale : -INFINITY;
    s[j] = v;
    mx = v > mx ? v : mx;
  }
  return mx;
}

// The same as attn_mask_scale_row in a branch-free, vectorisable form for CPU loops:
// bias[j] = 0 for a real key and -inf for padding (of keys j0..), lim = number of leading keys
// that causality allows (n when bidirectional). s[j] = s[j]·scale + bias[j] for j < lim, -inf after.
SEQFAIR_HD void attn_scale_bias_row(float* s, int64_t n, const float* bias, int64_t lim, float scale) {
  if (lim > n) lim = n;
  if (lim < 0) lim = 0;
  for (int64_t j = 0; j < lim; ++j) s[j] = s[j] * scale + bias[j];
  for (int64_t j = lim; j < n; ++j) s[j] = -INFINITY;
}

}  // namespace seqfair
