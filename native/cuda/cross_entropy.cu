// Softmax cross-entropy (FORMAT.md 4.6) and the fused output projection + cross-entropy (4.7).
// Per-row math: seqfair/cross_entropy.h (ce_row_loss, ce_row_grad_scale, ce_grad_from_prob) and
// the online log-sum-exp of seqfair/softmax.h (online_lse_push_max / online_lse_value).
//
// crossEntropy on logits (N,C): forward one block per row (max and Σ exp as fixed block trees,
// the sum in double); backward one thread per logit.
// projCe, hidden (N,D), table (V,D), targets (N): the item axis is cut into chunks of Vc items with
// N·Vc ≤ 16 M floats (64 MiB of workspace), so the (N,V) logits never exist at once.
//   forward, per chunk: logits (N,Vc) = hidden · table[v0:v0+Vc]ᵀ (tiled GEMM), then one block per
//     row folds the chunk into the row's online log-sum-exp state (double m, s) and picks up the
//     target's logit; a last kernel turns the states into lse and loss.
//   backward, per chunk: the same logits, turned in place into G = g·(softmax - onehot), then
//     dHidden (+)= G · table_chunk and dTable_chunk = Gᵀ · hidden (GEMMs; chunks in order, so the
//     result is deterministic). 3 GEMM passes over the items in all.
// Not yet done (the CPU does it): rows with an ignored target are still multiplied (their G is 0),
// so a padding-heavy batch pays for its padding.
#include <cmath>

#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "seqfair/cross_entropy.h"
#include "seqfair/softmax.h"

namespace seqfair {
namespace cuda {
namespace {

__global__ void __launch_bounds__(256) sfk_cross_entropy_forward(const float* logits, const int32_t* targets,
                                                                 const float* weights, float* loss, float* lse,
                                                                 int64_t N, int64_t C, int32_t ignore_index) {
  __shared__ float fbuf[32];
  __shared__ double dbuf[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const int32_t t = targets[n];
    if (t == ignore_index) {
      if (threadIdx.x == 0) {
        loss[n] = 0.0f;
        lse[n] = 0.0f;
      }
      continue;
    }
    const float* row = logits + n * C;
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) mx = row[c] > mx ? row[c] : mx;
    mx = block_max(mx, fbuf, -INFINITY);
    double l;
    if (!(mx == mx && mx != INFINITY && mx != -INFINITY)) {  // not finite
      l = C == 0 ? -INFINITY : (double)mx;  // as the CPU path: no shift is possible
    } else {
      double s = 0;
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += (double)expf(row[c] - mx);
      s = block_sum(s, dbuf);
      OnlineLseT<double> st = online_lse_init<double>();
      online_lse_push_max(st, (double)mx, s);
      l = online_lse_value(st);
    }
    if (threadIdx.x == 0) {
      lse[n] = (float)l;
      loss[n] = ce_row_loss(l, row[t], weights, n);
    }
  }
}

__global__ void sfk_cross_entropy_backward(const float* logits, const int32_t* targets, const float* weights,
                                           const float* lse, const float* dloss, float* dlogits, int64_t N, int64_t C,
                                           int32_t ignore_index) {
  const int64_t total = N * C;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = e / C, c = e % C;
    const int32_t t = targets[n];
    float p = 0.0f;
    if (t != ignore_index) {
      p = expf(logits[e] - lse[n]);
      ce_grad_from_prob(&p, 1, c, t, ce_row_grad_scale(t, ignore_index, weights, dloss, n));
    }
    dlogits[e] = p;
  }
}

__global__ void sfk_proj_ce_init(double* m, double* s, float* tlogit, int64_t N) {
  for (int64_t n = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; n < N; n += (int64_t)gridDim.x * blockDim.x) {
    m[n] = -INFINITY;
    s[n] = 0.0;
    tlogit[n] = 0.0f;
  }
}

// folds logits (N, vn) of items [v0, v0+vn) into the per-row states
__global__ void __launch_bounds__(256) sfk_proj_ce_chunk(const float* logits, const int32_t* targets, double* m,
                                                         double* s, float* tlogit, int64_t N, int64_t vn, int64_t v0,
                                                         int32_t ignore_index) {
  __shared__ float fbuf[32];
  __shared__ double dbuf[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const int32_t t = targets[n];
    if (t == ignore_index) continue;
    const float* row = logits + n * vn;
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < vn; c += blockDim.x) {
      mx = row[c] > mx ? row[c] : mx;
      if (v0 + c == (int64_t)t) tlogit[n] = row[c];
    }
    mx = block_max(mx, fbuf, -INFINITY);
    double sum = 0;
    if (mx != -INFINITY) {
      for (int64_t c = threadIdx.x; c < vn; c += blockDim.x) sum += (double)expf(row[c] - mx);
    }
    sum = block_sum(sum, dbuf);
    if (threadIdx.x == 0) {
      OnlineLseT<double> st;
      st.m = m[n];
      st.s = s[n];
      online_lse_push_max(st, (double)mx, sum);
      m[n] = st.m;
      s[n] = st.s;
    }
  }
}

__global__ void sfk_proj_ce_finish(const double* m, const double* s, const float* tlogit, const int32_t* targets,
                                   const float* weights, float* loss, float* lse, int64_t N, int32_t ignore_index) {
  for (int64_t n = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; n < N; n += (int64_t)gridDim.x * blockDim.x) {
    if (targets[n] == ignore_index) {
      loss[n] = 0.0f;
      lse[n] = 0.0f;
      continue;
    }
    OnlineLseT<double> st;
    st.m = m[n];
    st.s = s[n];
    const double l = online_lse_value(st);
    lse[n] = (float)l;
    loss[n] = ce_row_loss(l, tlogit[n], weights, n);
  }
}

// logits (N, vn) of items [v0, v0+vn) -> G in place
__global__ void sfk_proj_ce_grad(float* tile, const int32_t* targets, const float* weights, const float* lse,
                                 const float* dloss, int64_t N, int64_t vn, int64_t v0, int32_t ignore_index) {
  const int64_t total = N * vn;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = e / vn, c = e % vn;
    const int32_t t = targets[n];
    const float g = ce_row_grad_scale(t, ignore_index, weights, dloss, n);
    float p = 0.0f;
    if (t != ignore_index && g != 0.0f) {
      p = expf(tile[e] - lse[n]);
      ce_grad_from_prob(&p, 1, v0 + c, t, g);
    }
    tile[e] = p;
  }
}

// items per chunk: N·Vc ≤ 16 M floats, a multiple of 64, at least 64
int64_t chunk_items(int64_t N, int64_t V) {
  const int64_t forced = env_int("SEQFAIR_CUDA_CE_CHUNK", 0);
  if (forced > 0) return min64(forced, V);
  int64_t vc = (int64_t(16) << 20) / max64(N, 1);
  vc = max64(64, vc / 64 * 64);
  return min64(vc, V);
}

// logits (N, vn) = hidden (N,D) · table[v0 : v0+vn]ᵀ
void chunk_logits(const float* hidden, const float* table, float* out, int64_t N, int64_t D, int64_t v0, int64_t vn) {
  GemmArgs g;
  g.a = hidden;
  g.lda = D;
  g.b = table + v0 * D;
  g.ldb = D;
  g.trans_b = true;
  g.c = out;
  g.ldc = vn;
  g.m = N;
  g.n = vn;
  g.k = D;
  gemm(g);
}

}  // namespace

void cross_entropy_forward(const float* logits, const int32_t* targets, const float* weights, float* loss, float* lse,
                           int64_t N, int64_t C, int32_t ignore_index) {
  if (N <= 0) return;
  SEQFAIR_LAUNCH(grid_for(N, 1), dim3(kThreads), 0, stream(), sfk_cross_entropy_forward)(logits, targets, weights, loss,
                                                                                       lse, N, C, ignore_index);
  check_launch("sfk_cross_entropy_forward");
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* weights, const float* lse,
                            const float* dloss, float* dlogits, int64_t N, int64_t C, int32_t ignore_index) {
  if (N <= 0 || C <= 0) return;
  SEQFAIR_LAUNCH(grid_for(N * C, kThreads), dim3(kThreads), 0, stream(), sfk_cross_entropy_backward)(
      logits, targets, weights, lse, dloss, dlogits, N, C, ignore_index);
  check_launch("sfk_cross_entropy_backward");
}

void proj_ce_forward(const float* hidden, const float* table, const int32_t* targets, const float* weights, float* loss,
                     float* lse, int64_t N, int64_t D, int64_t V, int32_t ignore_index) {
  if (N <= 0) return;
  Scratch<double> m(N), s(N);
  Scratch<float> tlogit(N);
  SEQFAIR_LAUNCH(grid_for(N, kThreads), dim3(kThreads), 0, stream(), sfk_proj_ce_init)(m.get(), s.get(), tlogit.get(),
                                                                                     N);
  check_launch("sfk_proj_ce_init");
  if (V > 0) {
    const int64_t vc = chunk_items(N, V);
    Scratch<float> tile(N * vc);
    for (int64_t v0 = 0; v0 < V; v0 += vc) {
      const int64_t vn = min64(vc, V - v0);
      chunk_logits(hidden, table, tile.get(), N, D, v0, vn);
      SEQFAIR_LAUNCH(grid_for(N, 1), dim3(kThreads), 0, stream(), sfk_proj_ce_chunk)(
          tile.get(), targets, m.get(), s.get(), tlogit.get(), N, vn, v0, ignore_index);
      check_launch("sfk_proj_ce_chunk");
    }
  }
  SEQFAIR_LAUNCH(grid_for(N, kThreads), dim3(kThreads), 0, stream(), sfk_proj_ce_finish)(
      m.get(), s.get(), tlogit.get(), targets, weights, loss, lse, N, ignore_index);
  check_launch("sfk_proj_ce_finish");
}

void proj_ce_backward(const float* hidden, const float* table, const int32_t* targets, const float* weights,
                      const float* lse, const float* dloss, float* dhidden, float* dtable, int64_t N, int64_t D, int64_t V,
                      int32_t ignore_index) {
  if (D <= 0 || (dhidden == nullptr && dtable == nullptr)) return;
  if (V <= 0 || N <= 0) {
    if (dhidden) zero(dhidden, sizeof(float) * (size_t)(N * D));
    if (dtable) zero(dtable, sizeof(float) * (size_t)(V * D));
    return;
  }
  const int64_t vc = chunk_items(N, V);
  Scratch<float> tile(N * vc);
  for (int64_t v0 = 0; v0 < V; v0 += vc) {
    const int64_t vn = min64(vc, V - v0);
    chunk_logits(hidden, table, tile.get(), N, D, v0, vn);
    SEQFAIR_LAUNCH(grid_for(N * vn, kThreads), dim3(kThreads), 0, stream(), sfk_proj_ce_grad)(
        tile.get(), targets, weights, lse, dloss, N, vn, v0, ignore_index);
    check_launch("sfk_proj_ce_grad");
    // dHidden (N,D) (+)= G (N,vn) · table[v0:v0+vn] (vn,D)
    GemmArgs gh;
    gh.a = tile.get();
    gh.lda = vn;
    gh.b = table + v0 * D;
    gh.ldb = D;
    gh.c = dhidden;
    gh.ldc = D;
    gh.m = N;
    gh.n = D;
    gh.k = vn;
    gh.accumulate = v0 > 0;
    if (dhidden) gemm(gh);
    // dTable[v0:v0+vn] (vn,D) = Gᵀ (vn,N) · hidden (N,D)
    GemmArgs gt;
    gt.a = tile.get();
    gt.lda = vn;
    gt.trans_a = true;
    gt.b = hidden;
    gt.ldb = D;
    gt.c = dtable + v0 * D;
    gt.ldc = D;
    gt.m = vn;
    gt.n = D;
    gt.k = N;
    if (dtable) gemm(gt);
  }
}

}  // namespace cuda
}  // namespace seqfair
