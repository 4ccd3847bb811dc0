// CPU driver of fused multi-head attention (math and shapes: seqfair/attention.h).
//
// Forward: work items are (b, h, block of kQBlock queries). A block's scores against its key range
// are one gemm_serial tile (qn × kn) in a thread-local buffer, masked/scaled, turned into
// probabilities in place (vector exp), dropped out, and multiplied by V in a second tile GEMM; the
// (B,H,L,L) score tensor never exists. The key range of a block is [first real key, last real key]
// of its sequence, cut at the block's last query when causal, so left padding and the causal
// upper triangle cost nothing.
// Backward: work items are (b, h): a task owns dk, dv of its head and walks its query blocks in
// order, accumulating dk/dv with tile GEMMs (deterministic for any thread count); per block it
// rebuilds p = exp(s - lse) and the same dropout multipliers from the Philox counter.
#include "cpu/attention.h"

#include <algorithm>
#include <vector>

#include "cpu/gemm_tile.h"
#include "cpu/parallel.h"
#include "cpu/philox_simd.h"
#include "cpu/vmath.h"
#include "seqfair/attention.h"

namespace seqfair {
namespace {

constexpr int64_t kQBlock = 64;

// first real key and one past the last real key of every sequence (lo = hi = 0 when none)
void key_ranges(const int32_t* key_mask, int64_t B, int64_t L, std::vector<int64_t>& lo, std::vector<int64_t>& hi) {
  lo.assign((size_t)B, 0);
  hi.assign((size_t)B, 0);
  for (int64_t b = 0; b < B; ++b) {
    int64_t first = -1, last = -1;
    for (int64_t j = 0; j < L; ++j) {
      if (key_mask[b * L + j] == 1) {
        if (first < 0) first = j;
        last = j;
      }
    }
    if (first >= 0) {
      lo[(size_t)b] = first;
      hi[(size_t)b] = last + 1;
    }
  }
}

// 0 for a real key, -inf for padding: masking becomes one fused multiply-add per score
std::vector<float> key_bias(const int32_t* key_mask, int64_t B, int64_t L) {
  std::vector<float> bias((size_t)(B * L));
  for (int64_t i = 0; i < B * L; ++i) bias[(size_t)i] = key_mask[i] == 1 ? 0.0f : -INFINITY;
  return bias;
}

// scores of query i against keys [kb, kb+kn): scaled, masked; returns their maximum
inline float mask_row(float* row, int64_t kn, const float* bias_b, bool causal, int64_t i, int64_t kb, float scale) {
  attn_scale_bias_row(row, kn, bias_b + kb, causal ? i - kb + 1 : kn, scale);
  return vm::max_of(row, kn);
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, const int32_t* key_mask, float* out, float* lse,
                       const AttnDims& d) {
  const int64_t B = d.B, H = d.H, L = d.L, dh = d.dh;
  if (B == 0 || H == 0 || L == 0) return;
  std::vector<int64_t> jlo, jhi;
  key_ranges(key_mask, B, L, jlo, jhi);
  const std::vector<float> bias = key_bias(key_mask, B, L);
  const int64_t nqb = (L + kQBlock - 1) / kQBlock;
  const bool drop = d.dropout > 0.0;
  const float inv_keep = drop ? (float)(1.0 / (1.0 - d.dropout)) : 1.0f;

  parallel_for(B * H * nqb, 1, [&](int64_t w0, int64_t w1) {
    std::vector<float> s((size_t)(kQBlock * L)), mult(drop ? (size_t)L : 0);
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t bh = w / nqb, qb = w % nqb, b = bh / H;
      const int64_t i0 = qb * kQBlock, i1 = std::min(L, i0 + kQBlock), qn = i1 - i0;
      const int64_t kb = jlo[(size_t)b], ke = d.causal ? std::min(jhi[(size_t)b], i1) : jhi[(size_t)b];
      const int64_t kn = std::max<int64_t>(0, ke - kb);
      const float* qh = q + bh * L * dh;
      const float* kh = k + bh * L * dh;
      const float* vh = v + bh * L * dh;
      float* oh = out + (bh * L + i0) * dh;
      if (kn == 0) {
        std::fill(oh, oh + qn * dh, 0.0f);
        std::fill(lse + bh * L + i0, lse + bh * L + i1, -INFINITY);
        continue;
      }
      gemm_tile(qh + i0 * dh, kh + kb * dh, s.data(), qn, kn, dh, false, true, false);
      const float* bias_b = bias.data() + b * L;
      for (int64_t r = 0; r < qn; ++r) {
        const int64_t i = i0 + r;
        float* row = s.data() + r * kn;
        const float mx = mask_row(row, kn, bias_b, d.causal, i, kb, d.scale);
        if (mx == -INFINITY) {  // no allowed key: zero row of p, output 0
          std::fill(row, row + kn, 0.0f);
          lse[bh * L + i] = -INFINITY;
          continue;
        }
        const float sum = vm::exp_shift_sum(row, row, kn, mx);
        lse[bh * L + i] = (float)((double)mx + std::log((double)sum));
        const float inv = 1.0f / sum;
        if (drop) {
          vphilox::dropout_mult_row(mult.data(), kn, d.key, attn_dropout_element(bh, L, i, kb), d.dropout, inv_keep);
          for (int64_t j = 0; j < kn; ++j) row[j] *= inv * mult[(size_t)j];
        } else {
          for (int64_t j = 0; j < kn; ++j) row[j] *= inv;
        }
      }
      gemm_tile(s.data(), vh + kb * dh, oh, qn, dh, kn, false, false, false);
    }
  });
}

void attention_backward(const float* q, const float* k, const float* v, const int32_t* key_mask, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, const AttnDims& d) {
  const int64_t B = d.B, H = d.H, L = d.L, dh = d.dh;
  if (B == 0 || H == 0 || L == 0 || dh == 0) return;
  std::vector<int64_t> jlo, jhi;
  key_ranges(key_mask, B, L, jlo, jhi);
  const std::vector<float> bias = key_bias(key_mask, B, L);
  const int64_t nqb = (L + kQBlock - 1) / kQBlock;
  const bool drop = d.dropout > 0.0;
  const float inv_keep = drop ? (float)(1.0 / (1.0 - d.dropout)) : 1.0f;

  parallel_for(B * H, 1, [&](int64_t w0, int64_t w1) {
    const size_t tile = (size_t)(kQBlock * L);
    std::vector<float> p(tile), dp(tile), pd(drop ? tile : 0), mult(drop ? tile : 0);
    for (int64_t bh = w0; bh < w1; ++bh) {
      const int64_t b = bh / H;
      const float* qh = q + bh * L * dh;
      const float* kh = k + bh * L * dh;
      const float* vh = v + bh * L * dh;
      const float* doh = dout + bh * L * dh;
      float* dqh = dq + bh * L * dh;
      float* dkh = dk + bh * L * dh;
      float* dvh = dv + bh * L * dh;
      std::fill(dkh, dkh + L * dh, 0.0f);
      std::fill(dvh, dvh + L * dh, 0.0f);
      const float* bias_b = bias.data() + b * L;
      for (int64_t qb = 0; qb < nqb; ++qb) {
        const int64_t i0 = qb * kQBlock, i1 = std::min(L, i0 + kQBlock), qn = i1 - i0;
        const int64_t kb = jlo[(size_t)b], ke = d.causal ? std::min(jhi[(size_t)b], i1) : jhi[(size_t)b];
        const int64_t kn = std::max<int64_t>(0, ke - kb);
        if (kn == 0) {
          std::fill(dqh + i0 * dh, dqh + i1 * dh, 0.0f);
          continue;
        }
        // p = exp(s - lse) on allowed keys (0 elsewhere and on rows without allowed keys)
        gemm_tile(qh + i0 * dh, kh + kb * dh, p.data(), qn, kn, dh, false, true, false);
        for (int64_t r = 0; r < qn; ++r) {
          const int64_t i = i0 + r;
          float* row = p.data() + r * kn;
          const float mx = mask_row(row, kn, bias_b, d.causal, i, kb, d.scale);
          const float l = lse[bh * L + i];
          if (mx == -INFINITY || l == -INFINITY) {
            std::fill(row, row + kn, 0.0f);
          } else {
            vm::exp_shift_sum(row, row, kn, l);
          }
          if (drop) {
            float* m = mult.data() + r * kn;
            vphilox::dropout_mult_row(m, kn, d.key, attn_dropout_element(bh, L, i, kb), d.dropout, inv_keep);
            float* pr = pd.data() + r * kn;
            for (int64_t j = 0; j < kn; ++j) pr[j] = row[j] * m[j];
          }
        }
        const float* pdrop = drop ? pd.data() : p.data();
        // dv[kb:ke] += pd^T · dout_blk
        gemm_tile(pdrop, doh + i0 * dh, dvh + kb * dh, kn, dh, qn, true, false, true);
        // dp = dout_blk · v[kb:ke]^T, times the dropout multipliers
        gemm_tile(doh + i0 * dh, vh + kb * dh, dp.data(), qn, kn, dh, false, true, false);
        for (int64_t r = 0; r < qn; ++r) {
          const float* pr = p.data() + r * kn;
          float* dr = dp.data() + r * kn;
          if (drop) {
            const float* m = mult.data() + r * kn;
            for (int64_t j = 0; j < kn; ++j) dr[j] *= m[j];
          }
          const float fd = vm::dot(pr, dr, kn);
          // dS scaled by `scale` once here, for both dq and dk
          for (int64_t j = 0; j < kn; ++j) dr[j] = d.scale * (pr[j] * (dr[j] - fd));
        }
        // dq_blk = dS · k[kb:ke],  dk[kb:ke] += dS^T · q_blk
        gemm_tile(dp.data(), kh + kb * dh, dqh + i0 * dh, qn, dh, kn, false, false, false);
        gemm_tile(dp.data(), qh + i0 * dh, dkh + kb * dh, kn, dh, qn, true, false, true);
      }
    }
  });
}

}  // namespace seqfair
