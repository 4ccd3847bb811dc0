// Embedding gather / scatter-add and per-position gradient norms (A-FSR Eq. 3).
//   gather       out[i,:] = table[ids[i],:]                      ids (n), table (V,D), out (n,D)
//   scatter-add  dTable[v,:] = Σ_{i: ids[i]=v} dOut[i,:]            dOut (n,D), dTable (V,D)
//     deterministic, no float atomics: keys (ids[i] << 32 | i) are sorted (sort.cu), each table
//     row finds its bucket by binary search, and one thread per (v, d) sums its bucket in
//     increasing i — the order of the CPU path, so the two give the same bits.
//   grad norm    norms[b,l] = ||g[b,l,:]||₂ (double sum) where mask[b,l] = 1, else 0;
//                rowmax[b] = max_l norms[b,l]; argmax[b] = the first l reaching it
//     one thread per (b,l) (row_l2_norm), then one thread per b (first_argmax_update, the CPU's
//     loop and ties; seqfair/rows.h).
#include <cmath>

#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "seqfair/rows.h"

namespace seqfair {
namespace cuda {
namespace {

__global__ void sfk_gather(const float* table, const int32_t* ids, float* out, int64_t n, int64_t D) {
  const int64_t total = n * D;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = e / D, d = e % D;
    out[e] = table[(int64_t)ids[i] * D + d];
  }
}

__global__ void sfk_scatter_keys(const int32_t* ids, unsigned long long* keys, int64_t n, int64_t padded) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < padded; i += (int64_t)gridDim.x * blockDim.x) {
    keys[i] = i < n ? ((unsigned long long)(uint32_t)ids[i] << 32) | (unsigned long long)i : ~0ull;
  }
}

// dTable[v,d] = Σ over the bucket of v, in key order
__global__ void sfk_scatter_rows(const float* dout, const unsigned long long* keys, const int64_t* start, float* dtable,
                                 int64_t V, int64_t D) {
  const int64_t total = V * D;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t v = e / D, d = e % D;
    float acc = 0.0f;
    for (int64_t p = start[v]; p < start[v + 1]; ++p) {
      const int64_t i = (int64_t)(keys[p] & 0xffffffffull);
      acc += dout[i * D + d];
    }
    dtable[e] = acc;
  }
}

__global__ void sfk_grad_norm_rows(const float* g, const int32_t* mask, float* norms, int64_t BL, int64_t D) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < BL; r += (int64_t)gridDim.x * blockDim.x) {
    norms[r] = mask[r] != 0 ? row_l2_norm(g + r * D, D) : 0.0f;
  }
}

__global__ void sfk_grad_norm_argmax(const float* norms, float* rowmax, int32_t* argmax, int64_t B, int64_t L) {
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < B; b += (int64_t)gridDim.x * blockDim.x) {
    float best = 0.0f;
    int32_t best_l = 0;
    for (int64_t l = 0; l < L; ++l) first_argmax_update(norms[b * L + l], (int32_t)l, &best, &best_l);
    rowmax[b] = L > 0 ? best : 0.0f;
    argmax[b] = best_l;
  }
}

}  // namespace

void gather(const float* table, const int32_t* ids, float* out, int64_t n, int64_t V, int64_t D) {
  (void)V;
  if (n <= 0 || D <= 0) return;
  SEQFAIR_LAUNCH(grid_for(n * D, kThreads), dim3(kThreads), 0, stream(), sfk_gather)(table, ids, out, n, D);
  check_launch("sfk_gather");
}

void scatter_add(const float* dout, const int32_t* ids, float* dtable, int64_t n, int64_t V, int64_t D) {
  if (V <= 0 || D <= 0) return;
  const int64_t padded = next_pow2(n);
  Scratch<unsigned long long> keys(padded);
  Scratch<int64_t> start(V + 1);
  if (n > 0) {
    SEQFAIR_LAUNCH(grid_for(padded, kThreads), dim3(kThreads), 0, stream(), sfk_scatter_keys)(ids, keys.get(), n,
                                                                                           padded);
    check_launch("sfk_scatter_keys");
    sort_u64(keys.get(), padded);
  }
  bucket_starts(keys.get(), n > 0 ? padded : 0, start.get(), V);
  SEQFAIR_LAUNCH(grid_for(V * D, kThreads), dim3(kThreads), 0, stream(), sfk_scatter_rows)(dout, keys.get(),
                                                                                        start.get(), dtable, V, D);
  check_launch("sfk_scatter_rows");
}

void grad_norm(const float* g, const int32_t* mask, float* norms, float* rowmax, int32_t* argmax, int64_t B, int64_t L,
               int64_t D) {
  if (B <= 0) return;
  if (L > 0) {
    SEQFAIR_LAUNCH(grid_for(B * L, kThreads), dim3(kThreads), 0, stream(), sfk_grad_norm_rows)(g, mask, norms, B * L,
                                                                                            D);
    check_launch("sfk_grad_norm_rows");
  }
  SEQFAIR_LAUNCH(grid_for(B, kThreads), dim3(kThreads), 0, stream(), sfk_grad_norm_argmax)(norms, rowmax, argmax, B, L);
  check_launch("sfk_grad_norm_argmax");
}

}  // namespace cuda
}  // namespace seqfair
