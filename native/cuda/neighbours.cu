// A-FSR neighbourhoods (FORMAT.md 4.10, A-FSR Eqs. 6 and 7); top-k rules: seqfair/topk.h.
//
// cosineTopk, x (N,D), Q queries (all rows when null) -> indices, similarities (Q,k):
//   1. rows normalised once (one thread per row, cosine_normalize_row of seqfair/rows.h: norm in
//      double; a zero row stays zero, so its similarity with anything is exactly 0; -0 → +0);
//   2. tiled similarity: S (Qb, Nc) = Xq · X[c0:c0+Nc]ᵀ through the tiled GEMM (gemm.cu), whose
//      outputs each sum their D products in the same order wherever they sit, so duplicated rows
//      get bitwise-equal similarities (the exact ties the fixtures pin down; the CPU path gets the
//      same by grouping identical rows);
//   3. per-row top-k: 32 threads per query scan the tile's columns (thread s takes columns ≡ s mod
//      32, coalesced) and keep 32 partial lists (topk_insert, in a global workspace); after the
//      last tile one thread per query merges the 32 lists in order. (value desc, index asc) is a
//      strict total order, so the k best do not depend on the split or the order of insertion.
//   Workspace: lists ≤ 64 MiB and tiles ≤ 16 M floats, queries processed in batches to stay there.
// twoHop: one thread per row: N1(i) ∪ N1(N1(i)) written into the output row, sorted, deduplicated,
//   i removed (sorted_unique_without), -1 padded to k + k².
// neighbourMix: out[r,d] = Σ_j w[r,j] table[ids[r,j], d] over ids >= 0, one thread per (r,d),
//   j in order. Backward: dTable[v] = Σ over entries e = r·K + j with ids[e] = v of w[e]·dOut[r]:
//   bucketed by sorting (id << 32 | e) keys (sort.cu), one thread per (v,d) in increasing e.
#include <cmath>

#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "seqfair/rows.h"
#include "seqfair/topk.h"

namespace seqfair {
namespace cuda {
namespace {

constexpr int kSlots = 32;  // partial top-k lists per query

__global__ void sfk_cosine_normalize(const float* x, float* xn, int64_t N, int64_t D) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < N; i += (int64_t)gridDim.x * blockDim.x) {
    cosine_normalize_row(x + i * D, xn + i * D, D);
  }
}

__global__ void sfk_cosine_gather_queries(const float* xn, const int32_t* queries, float* xq, int64_t q0, int64_t qn,
                                          int64_t D) {
  const int64_t total = qn * D;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t q = e / D, d = e % D;
    xq[e] = xn[(int64_t)queries[q0 + q] * D + d];
  }
}

__global__ void sfk_topk_reset(int32_t* counts, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    counts[i] = 0;
  }
}

// thread (q, slot) offers the columns u ≡ slot (mod 32) of tile row q to its list
__global__ void sfk_topk_scan(const float* sims, int64_t qn, int64_t nc, int64_t c0, int64_t q0,
                              const int32_t* queries, float* vals, int32_t* ids, int32_t* counts, int32_t k) {
  const int64_t total = qn * kSlots;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t q = t / kSlots, slot = t % kSlots;
    const int32_t self = (int32_t)(queries ? queries[q0 + q] : q0 + q);
    float* v = vals + t * k;
    int32_t* id = ids + t * k;
    int32_t cnt = counts[t];
    const float* row = sims + q * nc;
    for (int64_t u = slot; u < nc; u += kSlots) {
      const int32_t j = (int32_t)(c0 + u);
      if (j == self) continue;
      const float s = row[u] + 0.0f;
      if (cnt == k && !(s >= v[k - 1])) continue;
      topk_insert(v, id, &cnt, k, s, j);
    }
    counts[t] = cnt;
  }
}

// one thread per query: merges the 32 lists into list 0 in slot order and writes the outputs
__global__ void sfk_topk_merge(float* vals, int32_t* ids, int32_t* counts, int64_t qn, int64_t q0, int32_t k,
                               int32_t* indices, float* similarities) {
  for (int64_t q = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; q < qn; q += (int64_t)gridDim.x * blockDim.x) {
    float* v0 = vals + q * kSlots * k;
    int32_t* i0 = ids + q * kSlots * k;
    int32_t cnt = counts[q * kSlots];
    for (int s = 1; s < kSlots; ++s) {
      const float* sv = v0 + (int64_t)s * k;
      const int32_t* si = i0 + (int64_t)s * k;
      const int32_t sc = counts[q * kSlots + s];
      for (int32_t m = 0; m < sc; ++m) {
        if (!topk_insert(v0, i0, &cnt, k, sv[m], si[m])) break;  // the rest of a sorted list is worse
      }
    }
    for (int32_t m = 0; m < k; ++m) {
      indices[(q0 + q) * k + m] = m < cnt ? i0[m] : -1;
      similarities[(q0 + q) * k + m] = m < cnt ? v0[m] : 0.0f;
    }
  }
}

__global__ void sfk_two_hop(const int32_t* indices, int32_t* out, int32_t* count, int64_t N, int64_t k) {
  const int64_t width = k + k * k;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < N; i += (int64_t)gridDim.x * blockDim.x) {
    int32_t* row = out + i * width;
    int64_t n = 0;
    for (int64_t m = 0; m < k; ++m) {
      const int32_t j = indices[i * k + m];
      row[n++] = j;
      for (int64_t m2 = 0; m2 < k; ++m2) row[n++] = indices[(int64_t)j * k + m2];
    }
    const int32_t c = sorted_unique_without(row, (int32_t)n, (int32_t)i);
    for (int64_t m = c; m < width; ++m) row[m] = -1;
    count[i] = c;
  }
}

__global__ void sfk_neighbour_mix(const float* table, const int32_t* ids, const float* w, float* out, int64_t R,
                                  int64_t K, int64_t D) {
  const int64_t total = R * D;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = e / D, d = e % D;
    float o = 0.0f;
    for (int64_t j = 0; j < K; ++j) {
      const int32_t id = ids[r * K + j];
      if (id < 0) continue;
      o += w[r * K + j] * table[(int64_t)id * D + d];
    }
    out[e] = o;
  }
}

__global__ void sfk_neighbour_mix_keys(const int32_t* ids, unsigned long long* keys, int64_t E, int64_t padded) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < padded; e += (int64_t)gridDim.x * blockDim.x) {
    keys[e] = (e < E && ids[e] >= 0) ? ((unsigned long long)(uint32_t)ids[e] << 32) | (unsigned long long)e : ~0ull;
  }
}

__global__ void sfk_neighbour_mix_backward(const float* dout, const float* w, const unsigned long long* keys,
                                           const int64_t* start, float* dtable, int64_t V, int64_t K, int64_t D) {
  const int64_t total = V * D;
  for (int64_t x = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; x < total; x += (int64_t)gridDim.x * blockDim.x) {
    const int64_t v = x / D, d = x % D;
    float acc = 0.0f;
    for (int64_t p = start[v]; p < start[v + 1]; ++p) {
      const int64_t e = (int64_t)(keys[p] & 0xffffffffull);
      acc += w[e] * dout[(e / K) * D + d];
    }
    dtable[x] = acc;
  }
}

}  // namespace

void cosine_topk(const float* x, const int32_t* queries, int64_t Q, int32_t* indices, float* sims, int64_t N,
                 int64_t D, int64_t k) {
  if (Q <= 0 || k <= 0) return;
  Scratch<float> xn(N * D);
  SEQFAIR_LAUNCH(grid_for(N, 128), dim3(128), 0, stream(), sfk_cosine_normalize)(x, xn.get(), N, D);
  check_launch("sfk_cosine_normalize");
  // query batch: lists (qb·32·k entries of 8 bytes) ≤ 64 MiB, at most 4096 queries
  const int64_t qb = max64(1, min64(min64(Q, env_int("SEQFAIR_CUDA_TOPK_QUERIES", 4096)),
                                      (int64_t(8) << 20) / (kSlots * k)));
  const int64_t nc = max64(1, min64(N, env_int("SEQFAIR_CUDA_TOPK_CANDIDATES", max64(64, (int64_t(16) << 20) / qb))));
  Scratch<float> tile(qb * nc), xq(queries ? qb * D : 0), vals(qb * kSlots * k);
  Scratch<int32_t> ids(qb * kSlots * k), counts(qb * kSlots);
  for (int64_t q0 = 0; q0 < Q; q0 += qb) {
    const int64_t qn = min64(qb, Q - q0);
    const float* qrows = xn.get() + q0 * D;
    if (queries) {
      SEQFAIR_LAUNCH(grid_for(qn * D, kThreads), dim3(kThreads), 0, stream(), sfk_cosine_gather_queries)(
          xn.get(), queries, xq.get(), q0, qn, D);
      check_launch("sfk_cosine_gather_queries");
      qrows = xq.get();
    }
    SEQFAIR_LAUNCH(grid_for(qn * kSlots, kThreads), dim3(kThreads), 0, stream(), sfk_topk_reset)(counts.get(),
                                                                                               qn * kSlots);
    check_launch("sfk_topk_reset");
    for (int64_t c0 = 0; c0 < N; c0 += nc) {
      const int64_t cn = min64(nc, N - c0);
      GemmArgs g;
      g.a = qrows;
      g.lda = D;
      g.b = xn.get() + c0 * D;
      g.ldb = D;
      g.trans_b = true;
      g.c = tile.get();
      g.ldc = cn;
      g.m = qn;
      g.n = cn;
      g.k = D;
      g.allow_split_k = false;
      gemm(g);
      SEQFAIR_LAUNCH(grid_for(qn * kSlots, kThreads), dim3(kThreads), 0, stream(), sfk_topk_scan)(
          tile.get(), qn, cn, c0, q0, queries, vals.get(), ids.get(), counts.get(), (int32_t)k);
      check_launch("sfk_topk_scan");
    }
    SEQFAIR_LAUNCH(grid_for(qn, 128), dim3(128), 0, stream(), sfk_topk_merge)(vals.get(), ids.get(), counts.get(), qn,
                                                                             q0, (int32_t)k, indices, sims);
    check_launch("sfk_topk_merge");
  }
}

void two_hop(const int32_t* indices, int32_t* out, int32_t* count, int64_t N, int64_t k) {
  if (N <= 0) return;
  SEQFAIR_LAUNCH(grid_for(N, 128), dim3(128), 0, stream(), sfk_two_hop)(indices, out, count, N, k);
  check_launch("sfk_two_hop");
}

void neighbour_mix(const float* table, const int32_t* ids, const float* w, float* out, int64_t R, int64_t K, int64_t V,
                   int64_t D) {
  (void)V;
  if (R <= 0 || D <= 0) return;
  SEQFAIR_LAUNCH(grid_for(R * D, kThreads), dim3(kThreads), 0, stream(), sfk_neighbour_mix)(table, ids, w, out, R, K, D);
  check_launch("sfk_neighbour_mix");
}

void neighbour_mix_backward(const float* dout, const int32_t* ids, const float* w, float* dtable, int64_t R, int64_t K,
                            int64_t V, int64_t D) {
  if (V <= 0 || D <= 0) return;
  const int64_t E = R * K;
  const int64_t padded = next_pow2(E);
  Scratch<unsigned long long> keys(padded);
  Scratch<int64_t> start(V + 1);
  if (E > 0) {
    SEQFAIR_LAUNCH(grid_for(padded, kThreads), dim3(kThreads), 0, stream(), sfk_neighbour_mix_keys)(ids, keys.get(), E,
                                                                                                 padded);
    check_launch("sfk_neighbour_mix_keys");
    sort_u64(keys.get(), padded);
  }
  bucket_starts(keys.get(), E > 0 ? padded : 0, start.get(), V);
  SEQFAIR_LAUNCH(grid_for(V * D, kThreads), dim3(kThreads), 0, stream(), sfk_neighbour_mix_backward)(
      dout, w, keys.get(), start.get(), dtable, V, K, D);
  check_launch("sfk_neighbour_mix_backward");
}

}  // namespace cuda
}  // namespace seqfair
