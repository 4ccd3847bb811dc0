// NARM's local-encoder attention (math: seqfair/narm_attention.h, shared with the CPU kernel).
//   forward      one thread per α[b,t,j]: narm_pair_score over the H units
//   backward     one thread per dq[b,t,d] (over its keys j <= p, also writing that query row's
//                share of dw), one per dk[b,j,d] (over the queries that see j), then one per dw[d]
//                summing the query rows' shares in order: no float atomics, deterministic.
// σ is recomputed in every pass; the (B,T,L,H) values are never stored.
#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "seqfair/narm_attention.h"

namespace seqfair {
namespace cuda {
namespace {

__global__ void sfk_narm_attention_forward(const float* q, const float* k, const float* w, const int32_t* mask,
                                           float* alpha, int64_t B, int64_t T, int64_t L, int64_t H) {
  const int64_t total = B * T * L;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t j = e % L, r = e / L, b = r / T;
    const bool allowed = j <= narm_query_position(r % T, T, L) && mask[b * L + j] != 0;
    alpha[e] = allowed ? narm_pair_score(q + r * H, k + (b * L + j) * H, w, H) : 0.0f;
  }
}

__global__ void sfk_narm_attention_backward_dq(const float* q, const float* k, const float* w, const int32_t* mask,
                                               const float* dalpha, float* dq, float* dw_rows, int64_t B, int64_t T,
                                               int64_t L, int64_t H) {
  const int64_t total = B * T * H;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t d = e % H, r = e / H, b = r / T, p = narm_query_position(r % T, T, L);
    float acc = 0.0f, dw_acc = 0.0f;
    for (int64_t j = 0; j <= p && j < L; ++j) {
      if (mask[b * L + j] == 0) continue;
      float dw_part;
      acc += narm_unit_backward(dalpha[r * L + j], q[e], k[(b * L + j) * H + d], w[d], &dw_part);
      dw_acc += dw_part;
    }
    dq[e] = acc;
    dw_rows[e] = dw_acc;
  }
}

__global__ void sfk_narm_attention_backward_dk(const float* q, const float* k, const float* w, const int32_t* mask,
                                               const float* dalpha, float* dk, int64_t B, int64_t T, int64_t L,
                                               int64_t H) {
  const int64_t total = B * L * H;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t d = e % H, bj = e / H, b = bj / L, j = bj % L;
    float acc = 0.0f;
    if (mask[bj] != 0) {
      // query t sees j iff L - T + t >= j
      for (int64_t t = j - (L - T) > 0 ? j - (L - T) : 0; t < T; ++t) {
        const int64_t r = b * T + t;
        float dw_part;
        acc += narm_unit_backward(dalpha[r * L + j], q[r * H + d], k[e], w[d], &dw_part);
      }
    }
    dk[e] = acc;
  }
}

__global__ void sfk_narm_attention_backward_dw(const float* dw_rows, float* dw, int64_t rows, int64_t H) {
  for (int64_t d = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; d < H; d += (int64_t)gridDim.x * blockDim.x) {
    float acc = 0.0f;
    for (int64_t r = 0; r < rows; ++r) acc += dw_rows[r * H + d];
    dw[d] = acc;
  }
}

}  // namespace

void narm_attention_forward(const float* q, const float* k, const float* w, const int32_t* mask, float* alpha, int64_t B,
                            int64_t T, int64_t L, int64_t H) {
  if (B * T * L <= 0) return;
  SEQFAIR_LAUNCH(grid_for(B * T * L, kThreads), dim3(kThreads), 0, stream(), sfk_narm_attention_forward)(
      q, k, w, mask, alpha, B, T, L, H);
  check_launch("sfk_narm_attention_forward");
}

void narm_attention_backward(const float* q, const float* k, const float* w, const int32_t* mask, const float* dalpha,
                             float* dq, float* dk, float* dw, int64_t B, int64_t T, int64_t L, int64_t H) {
  if (H <= 0) return;
  Scratch<float> dw_rows(B * T * H);
  if (B * T > 0) {
    SEQFAIR_LAUNCH(grid_for(B * T * H, kThreads), dim3(kThreads), 0, stream(), sfk_narm_attention_backward_dq)(
        q, k, w, mask, dalpha, dq, dw_rows.get(), B, T, L, H);
    check_launch("sfk_narm_attention_backward_dq");
  }
  if (B * L > 0) {
    SEQFAIR_LAUNCH(grid_for(B * L * H, kThreads), dim3(kThreads), 0, stream(), sfk_narm_attention_backward_dk)(
        q, k, w, mask, dalpha, dk, B, T, L, H);
    check_launch("sfk_narm_attention_backward_dk");
  }
  SEQFAIR_LAUNCH(grid_for(H, kThreads), dim3(kThreads), 0, stream(), sfk_narm_attention_backward_dw)(dw_rows.get(), dw,
                                                                                                     B * T, H);
  check_launch("sfk_narm_attention_backward_dw");
}

}  // namespace cuda
}  // namespace seqfair
