// Fused multi-head attention, forward and backward (math: seqfair/attention.h, FORMAT.md 4.4).
//   q, k, v, out, dq, dk, dv (B,H,L,dh) or, interleaved, (B,L,H,dh) (row (bh, i) at
//   attn_row_offset); key mask (B,L) of 0/1; lse (B,H,L)
//   key j allowed for query i iff mask[b,j] = 1 and (!causal || j <= i); dropout on the weights
//   with multiplier m_ij = keep_ij/(1-p) drawn from Philox element ((b·H+h)·L+i)·L+j.
//
// Forward (flash-attention style, the (L,L) scores never exist): a block of 4 warps owns 4
// consecutive query rows of one (b,h); key chunks of 32 are staged in shared memory; lane t of a
// warp scores key j0+t (attn_allowed, scale), the chunk is folded into the row's online
// log-sum-exp state (online_lse_push_max, seqfair/softmax.h), the output accumulator (shared
// memory, lane-owned columns) is rescaled by exp(m_old - m_new) and receives Σ_t p_t·m_t·v_t.
// Dropout multipliers come from attn_dropout_row, the function the CPU path calls.
// Backward, deterministic without atomics (each output row is owned by one warp):
//   delta_i = dout_i · out_i   (= Σ_l p_il dP_il, with or without dropout)
//   dq kernel, warp per query row, over key chunks:  dS_ij = p_ij (m_ij dout_i·v_j - delta_i),
//     dq_i = scale Σ_j dS_ij k_j;
//   dk/dv kernel, warp per key row, over query chunks: dv_j = Σ_i p_ij m_ij dout_i,
//     dk_j = scale Σ_i dS_ij q_i;   p_ij is rebuilt as exp(s_ij - lse_i) in both.
// Shared memory grows with dh (attention_smem_bytes); above 48 KiB the kernels opt in, and bind.cc
// refuses a dh that the device cannot hold (dh ≤ 128 needs under 48 KiB).
// Causal attention skips the key chunks after a block's last query (and the query chunks before a
// block's first key); left padding is masked, not skipped (the CPU path skips it).
#include <cmath>

#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "seqfair/attention.h"
#include "seqfair/softmax.h"

namespace seqfair {
namespace cuda {
namespace {

constexpr int W = 4;   // warps (rows) per block
constexpr int CH = 32; // keys (forward, dq) or queries (dk/dv) per chunk

struct AttnPtrs {
  const float* q;
  const float* k;
  const float* v;
  const int32_t* mask;
  const float* out;
  const float* lse;
  const float* dout;
  const float* delta;
  float* o;   // forward output / dq / dk
  float* o2;  // forward lse / dv
};

// offset of row i of head bh in q, k, v, out, dout and the gradients (either layout)
__device__ __forceinline__ int64_t arow(const AttnDims& d, int64_t bh, int64_t i) {
  return attn_row_offset(bh, i, d.H, d.L, d.dh, d.interleaved);
}

__device__ __forceinline__ float dropout_mult(const AttnDims& d, int64_t bh, int64_t i, int64_t j, float inv_keep) {
  if (d.dropout <= 0.0) return 1.0f;
  float m;
  attn_dropout_row(&m, 1, d.key, attn_dropout_element(bh, d.L, i, j), d.dropout, inv_keep);
  return m;
}

__global__ void __launch_bounds__(W * 32) sfk_attention_forward(AttnPtrs P, AttnDims d) {
  SEQFAIR_DYNAMIC_SMEM(float, sm);
  const int64_t dh = d.dh, L = d.L;
  float* Ks = sm;                        // [CH][dh+1]
  float* Vs = Ks + CH * (dh + 1);        // [CH][dh]
  float* Qs = Vs + CH * dh;              // [W][dh]
  float* Acc = Qs + W * dh;              // [W][dh]
  float* Ps = Acc + W * dh;              // [W][CH]
  const int lane = (int)threadIdx.x % 32, w = (int)threadIdx.x / 32;
  const float inv_keep = d.dropout > 0.0 ? (float)(1.0 / (1.0 - d.dropout)) : 1.0f;
  const int64_t BH = d.B * d.H;
  for (int64_t bh = blockIdx.y; bh < BH; bh += gridDim.y) {
    const int64_t b = bh / d.H;
    const int32_t* mask_b = P.mask + b * L;
    const float* qh = P.q + arow(d, bh, 0);
    const float* kh = P.k + arow(d, bh, 0);
    const float* vh = P.v + arow(d, bh, 0);
    const int64_t rs = attn_row_stride(d.H, dh, d.interleaved);
    for (int64_t g = blockIdx.x; g * W < L; g += gridDim.x) {
      const int64_t i = g * W + w;
      const bool active = i < L;
      const int64_t last = min64(L, g * W + W) - 1;  // the block's last query
      const int64_t jend = d.causal ? last + 1 : L;
      for (int64_t c = lane; c < dh; c += 32) {
        Qs[w * dh + c] = active ? qh[i * rs + c] : 0.0f;
        Acc[w * dh + c] = 0.0f;
      }
      OnlineLse st = online_lse_init<float>();
      for (int64_t j0 = 0; j0 < jend; j0 += CH) {
        __syncthreads();  // the previous chunk is no longer read
        for (int64_t e = threadIdx.x; e < CH * dh; e += blockDim.x) {
          const int64_t t = e / dh, c = e % dh, j = j0 + t;
          Ks[t * (dh + 1) + c] = j < L ? kh[j * rs + c] : 0.0f;
          Vs[t * dh + c] = j < L ? vh[j * rs + c] : 0.0f;
        }
        __syncthreads();
        if (!active) continue;
        const int64_t j = j0 + lane;
        const bool ok = j < L && attn_allowed(mask_b, d.causal, i, j);
        float s = -INFINITY;
        if (ok) {
          float acc = 0.0f;
          for (int64_t c = 0; c < dh; ++c) acc = fmaf(Qs[w * dh + c], Ks[lane * (dh + 1) + c], acc);
          s = acc * d.scale;
        }
        const float cm = warp_max(s);
        if (cm == -INFINITY) continue;  // no allowed key in this chunk (warp-uniform)
        const float pc = ok ? expf(s - cm) : 0.0f;
        const float csum = warp_sum(pc);
        const float m_old = st.m;
        online_lse_push_max(st, cm, csum);
        const float a = m_old == -INFINITY ? 0.0f : expf(m_old - st.m);
        const float bsc = expf(cm - st.m);
        Ps[w * CH + lane] = ok ? pc * bsc * dropout_mult(d, bh, i, j, inv_keep) : 0.0f;
        __syncwarp();
        for (int64_t c = lane; c < dh; c += 32) {
          float acc = Acc[w * dh + c] * a;
          for (int t = 0; t < CH; ++t) acc = fmaf(Ps[w * CH + t], Vs[t * dh + c], acc);
          Acc[w * dh + c] = acc;
        }
        __syncwarp();
      }
      if (active) {
        const bool any = st.m != -INFINITY;
        const float inv = any ? 1.0f / st.s : 0.0f;
        for (int64_t c = lane; c < dh; c += 32) P.o[arow(d, bh, i) + c] = any ? Acc[w * dh + c] * inv : 0.0f;
        if (lane == 0) P.o2[bh * L + i] = online_lse_value(st);
      }
    }
  }
}

// delta[r] = dout[r] · out[r] for every row r = bh·L + i of (B·H·L)
__global__ void sfk_attention_backward_delta(const float* out, const float* dout, float* delta, int64_t rows,
                                             AttnDims d) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    const int64_t o = arow(d, r / d.L, r % d.L);
    float acc = 0.0f;
    for (int64_t c = 0; c < d.dh; ++c) acc = fmaf(dout[o + c], out[o + c], acc);
    delta[r] = acc;
  }
}

__global__ void __launch_bounds__(W * 32) sfk_attention_backward_dq(AttnPtrs P, AttnDims d) {
  SEQFAIR_DYNAMIC_SMEM(float, sm);
  const int64_t dh = d.dh, L = d.L;
  float* Ks = sm;                        // [CH][dh+1]
  float* Vs = Ks + CH * (dh + 1);        // [CH][dh+1]
  float* Qs = Vs + CH * (dh + 1);        // [W][dh]
  float* Gs = Qs + W * dh;               // [W][dh]  dout rows
  float* Acc = Gs + W * dh;              // [W][dh]
  float* Ps = Acc + W * dh;              // [W][CH]
  const int lane = (int)threadIdx.x % 32, w = (int)threadIdx.x / 32;
  const float inv_keep = d.dropout > 0.0 ? (float)(1.0 / (1.0 - d.dropout)) : 1.0f;
  const int64_t BH = d.B * d.H;
  for (int64_t bh = blockIdx.y; bh < BH; bh += gridDim.y) {
    const int64_t b = bh / d.H;
    const int32_t* mask_b = P.mask + b * L;
    const float* kh = P.k + arow(d, bh, 0);
    const float* vh = P.v + arow(d, bh, 0);
    const int64_t rs = attn_row_stride(d.H, dh, d.interleaved);
    for (int64_t g = blockIdx.x; g * W < L; g += gridDim.x) {
      const int64_t i = g * W + w;
      const bool active = i < L;
      const int64_t last = min64(L, g * W + W) - 1;
      const int64_t jend = d.causal ? last + 1 : L;
      const float lse_i = active ? P.lse[bh * L + i] : -INFINITY;
      const float delta_i = active ? P.delta[bh * L + i] : 0.0f;
      for (int64_t c = lane; c < dh; c += 32) {
        Qs[w * dh + c] = active ? P.q[arow(d, bh, i) + c] : 0.0f;
        Gs[w * dh + c] = active ? P.dout[arow(d, bh, i) + c] : 0.0f;
        Acc[w * dh + c] = 0.0f;
      }
      for (int64_t j0 = 0; j0 < jend; j0 += CH) {
        __syncthreads();
        for (int64_t e = threadIdx.x; e < CH * dh; e += blockDim.x) {
          const int64_t t = e / dh, c = e % dh, j = j0 + t;
          Ks[t * (dh + 1) + c] = j < L ? kh[j * rs + c] : 0.0f;
          Vs[t * (dh + 1) + c] = j < L ? vh[j * rs + c] : 0.0f;
        }
        __syncthreads();
        if (!active || lse_i == -INFINITY) continue;  // a row without allowed keys has no gradient
        const int64_t j = j0 + lane;
        const bool ok = j < L && attn_allowed(mask_b, d.causal, i, j);
        float ds = 0.0f;
        if (ok) {
          float s = 0.0f, dp = 0.0f;
          for (int64_t c = 0; c < dh; ++c) {
            s = fmaf(Qs[w * dh + c], Ks[lane * (dh + 1) + c], s);
            dp = fmaf(Gs[w * dh + c], Vs[lane * (dh + 1) + c], dp);
          }
          const float p = expf(s * d.scale - lse_i);
          ds = p * (dp * dropout_mult(d, bh, i, j, inv_keep) - delta_i);
        }
        Ps[w * CH + lane] = ds;
        __syncwarp();
        for (int64_t c = lane; c < dh; c += 32) {
          float acc = Acc[w * dh + c];
          for (int t = 0; t < CH; ++t) acc = fmaf(Ps[w * CH + t], Ks[t * (dh + 1) + c], acc);
          Acc[w * dh + c] = acc;
        }
        __syncwarp();
      }
      if (active) {
        for (int64_t c = lane; c < dh; c += 32) P.o[arow(d, bh, i) + c] = d.scale * Acc[w * dh + c];
      }
    }
  }
}

__global__ void __launch_bounds__(W * 32) sfk_attention_backward_dkdv(AttnPtrs P, AttnDims d) {
  SEQFAIR_DYNAMIC_SMEM(float, sm);
  const int64_t dh = d.dh, L = d.L;
  float* Qc = sm;                        // [CH][dh+1] query chunk
  float* Gc = Qc + CH * (dh + 1);        // [CH][dh+1] dout chunk
  float* Kr = Gc + CH * (dh + 1);        // [W][dh]   this warp's key row
  float* Vr = Kr + W * dh;               // [W][dh]
  float* dK = Vr + W * dh;               // [W][dh]
  float* dV = dK + W * dh;               // [W][dh]
  float* Ps = dV + W * dh;               // [W][CH]  p·m
  float* Ss = Ps + W * CH;               // [W][CH]  dS
  float* lse_c = Ss + W * CH;            // [CH]
  float* delta_c = lse_c + CH;           // [CH]
  const int lane = (int)threadIdx.x % 32, w = (int)threadIdx.x / 32;
  const float inv_keep = d.dropout > 0.0 ? (float)(1.0 / (1.0 - d.dropout)) : 1.0f;
  const int64_t BH = d.B * d.H;
  for (int64_t bh = blockIdx.y; bh < BH; bh += gridDim.y) {
    const int64_t b = bh / d.H;
    const int32_t* mask_b = P.mask + b * L;
    const float* qh = P.q + arow(d, bh, 0);
    const float* gh = P.dout + arow(d, bh, 0);
    const int64_t rs = attn_row_stride(d.H, dh, d.interleaved);
    for (int64_t g = blockIdx.x; g * W < L; g += gridDim.x) {
      const int64_t j = g * W + w;  // this warp's key
      const bool active = j < L && mask_b[j] == 1;
      const int64_t first = g * W;  // the block's first key: causal queries start there
      const int64_t ibeg = d.causal ? first / CH * CH : 0;
      for (int64_t c = lane; c < dh; c += 32) {
        Kr[w * dh + c] = j < L ? P.k[arow(d, bh, j) + c] : 0.0f;
        Vr[w * dh + c] = j < L ? P.v[arow(d, bh, j) + c] : 0.0f;
        dK[w * dh + c] = 0.0f;
        dV[w * dh + c] = 0.0f;
      }
      for (int64_t i0 = ibeg; i0 < L; i0 += CH) {
        __syncthreads();
        for (int64_t e = threadIdx.x; e < CH * dh; e += blockDim.x) {
          const int64_t t = e / dh, c = e % dh, i = i0 + t;
          Qc[t * (dh + 1) + c] = i < L ? qh[i * rs + c] : 0.0f;
          Gc[t * (dh + 1) + c] = i < L ? gh[i * rs + c] : 0.0f;
        }
        for (int64_t t = threadIdx.x; t < CH; t += blockDim.x) {
          const int64_t i = i0 + t;
          lse_c[t] = i < L ? P.lse[bh * L + i] : -INFINITY;
          delta_c[t] = i < L ? P.delta[bh * L + i] : 0.0f;
        }
        __syncthreads();
        if (!active) continue;
        const int64_t i = i0 + lane;
        const bool ok = i < L && lse_c[lane] != -INFINITY && attn_allowed(mask_b, d.causal, i, j);
        float pm = 0.0f, ds = 0.0f;
        if (ok) {
          float s = 0.0f, dp = 0.0f;
          for (int64_t c = 0; c < dh; ++c) {
            s = fmaf(Qc[lane * (dh + 1) + c], Kr[w * dh + c], s);
            dp = fmaf(Gc[lane * (dh + 1) + c], Vr[w * dh + c], dp);
          }
          const float p = expf(s * d.scale - lse_c[lane]);
          const float m = dropout_mult(d, bh, i, j, inv_keep);
          pm = p * m;
          ds = p * (dp * m - delta_c[lane]);
        }
        Ps[w * CH + lane] = pm;
        Ss[w * CH + lane] = ds;
        __syncwarp();
        for (int64_t c = lane; c < dh; c += 32) {
          float av = dV[w * dh + c], ak = dK[w * dh + c];
          for (int t = 0; t < CH; ++t) {
            av = fmaf(Ps[w * CH + t], Gc[t * (dh + 1) + c], av);
            ak = fmaf(Ss[w * CH + t], Qc[t * (dh + 1) + c], ak);
          }
          dV[w * dh + c] = av;
          dK[w * dh + c] = ak;
        }
        __syncwarp();
      }
      if (j < L) {
        for (int64_t c = lane; c < dh; c += 32) {
          P.o[arow(d, bh, j) + c] = d.scale * dK[w * dh + c];
          P.o2[arow(d, bh, j) + c] = dV[w * dh + c];
        }
      }
    }
  }
}

size_t smem_forward(int64_t dh) { return sizeof(float) * (size_t)(CH * (dh + 1) + CH * dh + 2 * W * dh + W * CH); }
size_t smem_dq(int64_t dh) { return sizeof(float) * (size_t)(2 * CH * (dh + 1) + 3 * W * dh + W * CH); }
size_t smem_dkdv(int64_t dh) { return sizeof(float) * (size_t)(2 * CH * (dh + 1) + 4 * W * dh + 2 * W * CH + 2 * CH); }

template <typename K>
void allow_smem(K* kernel, size_t bytes) {
  if (bytes > 48 * 1024) {
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes),
          "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
  }
}

dim3 attn_grid(const AttnDims& d) {
  return dim3((unsigned)min64((d.L + W - 1) / W, 65535), (unsigned)min64(d.B * d.H, 65535));
}

}  // namespace

size_t attention_smem_bytes(int64_t dh) {
  const size_t a = smem_forward(dh), b = smem_dq(dh), c = smem_dkdv(dh);
  return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

void attention_forward(const float* q, const float* k, const float* v, const int32_t* mask, float* out, float* lse,
                       const AttnDims& d) {
  if (d.B <= 0 || d.H <= 0 || d.L <= 0) return;
  AttnPtrs P{q, k, v, mask, nullptr, nullptr, nullptr, nullptr, out, lse};
  const size_t bytes = smem_forward(d.dh);
  allow_smem(sfk_attention_forward, bytes);
  SEQFAIR_LAUNCH(attn_grid(d), dim3(W * 32), bytes, stream(), sfk_attention_forward)(P, d);
  check_launch("sfk_attention_forward");
}

void attention_backward(const float* q, const float* k, const float* v, const int32_t* mask, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv, const AttnDims& d) {
  if (d.B <= 0 || d.H <= 0 || d.L <= 0 || d.dh <= 0) return;
  const int64_t rows = d.B * d.H * d.L;
  Scratch<float> delta(rows);
  SEQFAIR_LAUNCH(grid_for(rows, kThreads), dim3(kThreads), 0, stream(), sfk_attention_backward_delta)(out, dout,
                                                                                                   delta.get(), rows, d);
  check_launch("sfk_attention_backward_delta");
  AttnPtrs P{q, k, v, mask, out, lse, dout, delta.get(), dq, nullptr};
  const size_t b1 = smem_dq(d.dh);
  allow_smem(sfk_attention_backward_dq, b1);
  SEQFAIR_LAUNCH(attn_grid(d), dim3(W * 32), b1, stream(), sfk_attention_backward_dq)(P, d);
  check_launch("sfk_attention_backward_dq");
  P.o = dk;
  P.o2 = dv;
  const size_t b2 = smem_dkdv(d.dh);
  allow_smem(sfk_attention_backward_dkdv, b2);
  SEQFAIR_LAUNCH(attn_grid(d), dim3(W * 32), b2, stream(), sfk_attention_backward_dkdv)(P, d);
  check_launch("sfk_attention_backward_dkdv");
}

}  // namespace cuda
}  // namespace seqfair
