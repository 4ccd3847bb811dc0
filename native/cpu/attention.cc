// CPU driver of fused multi-head attention (math and shapes: seqfair/attention.h).
//
// Small heads (L ≤ 256, dh a multiple of 8, AVX2; SASRec's L = 50, dh = 32): one task per
// (b, h). The head's whole score tile (queries × its key range) is computed by the register-tiled
// products of cpu/attention_tile.h into a thread-local buffer that is reused across calls (no
// allocation per call), masked/scaled, turned into probabilities in place and multiplied by V. The
// causal triangle is skipped in blocks of 4 rows in every product, and query rows that see no key
// (the left padding of a causal sequence) are never computed. The backward pass of a head rebuilds
// p = exp(s - lse) and the dropout multipliers and forms dv, dP, dS, dq, dk in the same way.
//
// Other shapes (and the scalar fallback): work items are (b, h, block of kQBlock queries). A
// block's scores against its key range are one gemm_serial tile (qn × kn) in a thread-local
// buffer, masked/scaled, turned into probabilities in place (vector exp), dropped out, and
// multiplied by V in a second tile GEMM; the (B,H,L,L) score tensor never exists. Backward: work
// items are (b, h): a task owns dk, dv of its head and walks its query blocks in order,
// accumulating dk/dv with tile GEMMs (deterministic for any thread count).
//
// Interleaved heads ((B,L,H,dh), AttnDims::interleaved): the small-head path reads and writes the
// rows of a head H·dh floats apart in place; the general path copies to (B,H,L,dh) and back.
//
// In both, the key range of a sequence is [first real key, last real key], so left padding costs
// nothing, and a row's log-sum-exp is the one-chunk online state of seqfair/softmax.h.
#include "cpu/attention.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/attention_tile.h"
#include "cpu/gemm_tile.h"
#include "cpu/parallel.h"
#include "cpu/philox_simd.h"
#include "cpu/simd.h"
#include "cpu/vmath.h"
#include "seqfair/attention.h"
#include "seqfair/softmax.h"

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


// log Σ exp of a row given as (max, Σ exp(s - max)): one chunk of the online state, in double
inline float row_lse(float mx, float sum) {
  OnlineLseT<double> st = online_lse_init<double>();
  online_lse_push_max(st, (double)mx, (double)sum);
  return (float)online_lse_value(st);
}

// ---- small heads ---------------------------------------------------------------------------------

bool small_heads(const AttnDims& d) {
  return simd_level() != SimdLevel::Scalar && d.dh % 8 == 0 && d.dh <= 256 && d.L <= 256;
}

// One reusable buffer per thread: the tiles of a head (at most a few hundred KB)
float* scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// The part of a head that is computed: keys [kb, kb+n) (first to last real key) and query rows
// [r0, L) (causal: rows before the first real key see no key, so r0 = kb and query row r of the
// tile sees tile keys c <= r). bias[c] = 0 for a real key, -inf for padding inside the range.
struct HeadTile {
  int64_t kb = 0, n = 0, r0 = 0, m = 0;
};

HeadTile head_tile(const int32_t* mask_b, int64_t L, bool causal) {
  HeadTile t;
  int64_t first = -1, last = -1;
  for (int64_t j = 0; j < L; ++j) {
    if (mask_b[j] == 1) {
      if (first < 0) first = j;
      last = j;
    }
  }
  if (first < 0) return t;
  t.kb = first;
  t.n = last + 1 - first;
  t.r0 = causal ? first : 0;
  t.m = L - t.r0;
  return t;
}

void key_bias_row(const int32_t* mask_b, const HeadTile& t, float* bias) {
  for (int64_t c = 0; c < t.n; ++c) bias[c] = mask_b[t.kb + c] == 1 ? 0.0f : -INFINITY;
}

// fn(bh) for every head; task c of C takes heads c, c + C, c + 2C, ... so that the long and short
// sequences of a batch spread evenly over the threads (parallel_for's chunks are contiguous).
// Each head is computed by one task alone, so the results do not depend on the assignment.
template <typename Fn>
void for_heads_strided(int64_t heads, Fn&& fn) {
  const int64_t C = std::min<int64_t>(heads, 4 * num_threads());
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t bh = c; bh < heads; bh += C) fn(bh);
  });
}

// keys allowed to tile row r: the leading `lim` tile keys (padding among them has bias -inf)
inline int64_t row_limit(const HeadTile& t, bool causal, int64_t r) { return causal ? std::min(t.n, r + 1) : t.n; }

// rows [r0, r1) of a head (row stride rs, dh values each) set to 0
inline void zero_rows(float* h, int64_t rs, int64_t r0, int64_t r1, int64_t dh) {
  for (int64_t r = r0; r < r1; ++r) std::memset(h + r * rs, 0, sizeof(float) * (size_t)dh);
}

#if defined(__x86_64__) || defined(__i386__)
void forward_head_small(const float* q, const float* k, const float* v, const int32_t* mask_b, float* out, float* lse,
                        int64_t bh, const AttnDims& d, float inv_keep) {
  using namespace attn_tile;
  const int64_t L = d.L, dh = d.dh;
  const HeadTile t = head_tile(mask_b, L, d.causal);
  // rows of the head: rs floats apart ((B,H,L,dh): dh; interleaved (B,L,H,dh): H·dh)
  const int64_t base = attn_row_offset(bh, 0, d.H, L, dh, d.interleaved), rs = attn_row_stride(d.H, dh, d.interleaved);
  const float *qh = q + base, *kh = k + base, *vh = v + base;
  float* oh = out + base;
  float* lh = lse + bh * L;
  // rows that see no key: output 0, lse -inf
  const int64_t r0 = t.n == 0 ? L : t.r0;
  zero_rows(oh, rs, 0, r0, dh);
  std::fill(lh, lh + r0, -INFINITY);
  if (t.n == 0) return;
  const int64_t np = round8(t.n);
  const int64_t tri = d.causal ? 0 : kFar;  // tile row r sees tile keys c <= r + tri
  float* kt = scratch((size_t)((dh + t.m + 2) * np));
  float* s = kt + dh * np;
  float* mult = s + t.m * np;
  float* bias = mult + np;
  key_bias_row(mask_b, t, bias);
  transpose(kh + t.kb * rs, rs, t.n, dh, kt, np);
  gemm(qh + t.r0 * rs, rs, 1, kt, np, s, np, t.m, np, dh, Band{tri, kFar, kFar});
  for (int64_t r = 0; r < t.m; ++r) {
    const int64_t i = t.r0 + r, lim = row_limit(t, d.causal, r);
    float* row = s + r * np;
    attn_scale_bias_row(row, t.n, bias, lim, d.scale);
    const float mx = vm::max_of(row, lim);
    if (mx == -INFINITY) {  // no allowed key: zero row of p, output 0
      zero_from(row, 0, np);
      lh[i] = -INFINITY;
      continue;
    }
    const float sum = vm::exp_shift_sum(row, row, lim, mx);
    zero_from(row, lim, np);
    lh[i] = row_lse(mx, sum);
    const float inv = 1.0f / sum;
    if (d.dropout > 0.0) {
      vphilox::dropout_mult_row(mult, lim, d.key, attn_dropout_element(bh, L, i, t.kb), d.dropout, inv_keep);
      for (int64_t j = 0; j < lim; ++j) row[j] *= inv * mult[j];
    } else {
      for (int64_t j = 0; j < lim; ++j) row[j] *= inv;
    }
  }
  gemm(s, np, 1, vh + t.kb * rs, rs, oh + t.r0 * rs, rs, t.m, dh, t.n, Band{kFar, kFar, tri});
}

void backward_head_small(const float* q, const float* k, const float* v, const int32_t* mask_b, const float* lse,
                         const float* dout, float* dq, float* dk, float* dv, int64_t bh, const AttnDims& d,
                         float inv_keep) {
  using namespace attn_tile;
  const int64_t L = d.L, dh = d.dh;
  const HeadTile t = head_tile(mask_b, L, d.causal);
  const int64_t base = attn_row_offset(bh, 0, d.H, L, dh, d.interleaved), rs = attn_row_stride(d.H, dh, d.interleaved);
  const float *qh = q + base, *kh = k + base, *vh = v + base, *doh = dout + base;
  const float* lh = lse + bh * L;
  float *dqh = dq + base, *dkh = dk + base, *dvh = dv + base;
  // rows outside the tile get no gradient
  const int64_t r0 = t.n == 0 ? L : t.r0;
  zero_rows(dqh, rs, 0, r0, dh);
  zero_rows(dkh, rs, 0, t.kb, dh);
  zero_rows(dkh, rs, t.kb + t.n, L, dh);
  zero_rows(dvh, rs, 0, t.kb, dh);
  zero_rows(dvh, rs, t.kb + t.n, L, dh);
  if (t.n == 0) return;
  const bool drop = d.dropout > 0.0;
  const int64_t np = round8(t.n), tile = t.m * np;
  const int64_t tri = d.causal ? 0 : kFar;
  float* kt = scratch((size_t)(2 * dh * np + (drop ? 4 : 2) * tile + np));
  float* vt = kt + dh * np;
  float* p = vt + dh * np;
  float* dp = p + tile;
  float* bias = dp + tile;
  float* pd = drop ? bias + np : p;  // dropped-out p (p itself without dropout)
  float* mult = drop ? pd + tile : nullptr;
  key_bias_row(mask_b, t, bias);
  transpose(kh + t.kb * rs, rs, t.n, dh, kt, np);
  transpose(vh + t.kb * rs, rs, t.n, dh, vt, np);
  // p = exp(s - lse) on allowed keys, 0 elsewhere and on rows without an allowed key
  gemm(qh + t.r0 * rs, rs, 1, kt, np, p, np, t.m, np, dh, Band{tri, kFar, kFar});
  for (int64_t r = 0; r < t.m; ++r) {
    const int64_t i = t.r0 + r, lim = row_limit(t, d.causal, r);
    float* row = p + r * np;
    const float l = lh[i];
    if (l == -INFINITY) {
      zero_from(row, 0, np);
    } else {
      attn_scale_bias_row(row, t.n, bias, lim, d.scale);
      vm::exp_shift_sum(row, row, lim, l);
      zero_from(row, lim, np);
    }
    if (drop) {
      float* m = mult + r * np;
      float* pr = pd + r * np;
      vphilox::dropout_mult_row(m, lim, d.key, attn_dropout_element(bh, L, i, t.kb), d.dropout, inv_keep);
      for (int64_t j = 0; j < lim; ++j) pr[j] = row[j] * m[j];
      zero_from(pr, lim, np);
    }
  }
  // dv = pdᵀ · dout   (key c gets terms from query rows r >= c)
  gemm(pd, 1, np, doh + t.r0 * rs, rs, dvh + t.kb * rs, rs, t.n, dh, t.m, Band{kFar, tri, kFar});
  // dP = dout · vᵀ times the dropout multipliers; dS = scale · p ⊙ (dP - <p, dP>)
  gemm(doh + t.r0 * rs, rs, 1, vt, np, dp, np, t.m, np, dh, Band{tri, kFar, kFar});
  for (int64_t r = 0; r < t.m; ++r) {
    const int64_t lim = row_limit(t, d.causal, r);
    const float* pr = p + r * np;
    float* dr = dp + r * np;
    if (drop) {
      const float* m = mult + r * np;
      for (int64_t j = 0; j < lim; ++j) dr[j] *= m[j];
    }
    const float fd = vm::dot(pr, dr, lim);
    for (int64_t j = 0; j < lim; ++j) dr[j] = d.scale * (pr[j] * (dr[j] - fd));
    zero_from(dr, lim, np);
  }
  // dq = dS · k,  dk = dSᵀ · q
  gemm(dp, np, 1, kh + t.kb * rs, rs, dqh + t.r0 * rs, rs, t.m, dh, t.n, Band{kFar, kFar, tri});
  gemm(dp, 1, np, qh + t.r0 * rs, rs, dkh + t.kb * rs, rs, t.n, dh, t.m, Band{kFar, tri, kFar});
}
#endif

// The general path works on contiguous heads: interleaved (B,L,H,dh) operands are copied to
// (B,H,L,dh) and its outputs back (the small-head path reads the interleaved rows in place).
// to_first: x (B,L,H,dh) -> y (B,H,L,dh); otherwise y (B,H,L,dh) -> x (B,L,H,dh)
void copy_heads(const float* from, float* to, const AttnDims& d, bool to_first) {
  parallel_for(d.B * d.H, 1, [&](int64_t h0, int64_t h1) {
    for (int64_t bh = h0; bh < h1; ++bh)
      for (int64_t i = 0; i < d.L; ++i) {
        const int64_t first = (bh * d.L + i) * d.dh, inter = attn_row_offset(bh, i, d.H, d.L, d.dh, true);
        std::memcpy(to + (to_first ? first : inter), from + (to_first ? inter : first), sizeof(float) * (size_t)d.dh);
      }
  });
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, const int32_t* key_mask, float* out, float* lse,
                       const AttnDims& d) {
  const int64_t B = d.B, H = d.H, L = d.L, dh = d.dh;
  if (B == 0 || H == 0 || L == 0) return;
#if defined(__x86_64__) || defined(__i386__)
  if (small_heads(d)) {
    const float inv_keep = d.dropout > 0.0 ? (float)(1.0 / (1.0 - d.dropout)) : 1.0f;
    for_heads_strided(B * H, [&](int64_t bh) {
      forward_head_small(q, k, v, key_mask + (bh / H) * L, out, lse, bh, d, inv_keep);
    });
    return;
  }
#endif
  if (d.interleaved) {
    const size_t n = (size_t)(B * H * L * dh);
    std::vector<float> qc(n), kc(n), vc(n), oc(n);
    copy_heads(q, qc.data(), d, true);
    copy_heads(k, kc.data(), d, true);
    copy_heads(v, vc.data(), d, true);
    AttnDims c = d;
    c.interleaved = false;
    attention_forward(qc.data(), kc.data(), vc.data(), key_mask, oc.data(), lse, c);
    copy_heads(oc.data(), out, d, false);
    return;
  }
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
        lse[bh * L + i] = row_lse(mx, sum);
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
#if defined(__x86_64__) || defined(__i386__)
  if (small_heads(d)) {
    const float inv_keep = d.dropout > 0.0 ? (float)(1.0 / (1.0 - d.dropout)) : 1.0f;
    for_heads_strided(B * H, [&](int64_t bh) {
      backward_head_small(q, k, v, key_mask + (bh / H) * L, lse, dout, dq, dk, dv, bh, d, inv_keep);
    });
    return;
  }
#endif
  if (d.interleaved) {
    const size_t n = (size_t)(B * H * L * dh);
    std::vector<float> qc(n), kc(n), vc(n), gc(n), dqc(n), dkc(n), dvc(n);
    copy_heads(q, qc.data(), d, true);
    copy_heads(k, kc.data(), d, true);
    copy_heads(v, vc.data(), d, true);
    copy_heads(dout, gc.data(), d, true);
    AttnDims c = d;
    c.interleaved = false;
    attention_backward(qc.data(), kc.data(), vc.data(), key_mask, lse, gc.data(), dqc.data(), dkc.data(), dvc.data(), c);
    copy_heads(dqc.data(), dq, d, false);
    copy_heads(dkc.data(), dk, d, false);
    copy_heads(dvc.data(), dv, d, false);
    return;
  }
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
