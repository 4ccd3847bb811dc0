// Embedding gather / scatter-add and per-position gradient norms (A-FSR Eq. 3).
//   gather:      out[i,:] = table[ids[i],:]                          ids (n), table (V,D), out (n,D)
//   scatter-add: dTable[v,:] = Σ_{i: ids[i]=v} dOut[i,:]                     dOut (n,D), dTable (V,D)
//     Deterministic without float atomics (as llm.c's encoder backward): a counting sort buckets
//     the positions by id (stable, so each bucket lists its positions in increasing order), then
//     each table row is owned by one task that sums its bucket in that order.
//   grad norm:   norms[b,l] = ||g[b,l,:]||₂ · mask[b,l]; rowmax[b] = max_l norms[b,l];
//                argmax[b] = smallest l reaching rowmax (fully masked row: 0, 0)
#include "cpu/embedding.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/parallel.h"
#include "seqfair/rows.h"

namespace seqfair {

void embedding_gather(const float* table, const int32_t* ids, float* out, int64_t n, int64_t V, int64_t D) {
  if (D <= 0) return;
  parallel_for(n, std::max<int64_t>(1, 8192 / D), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) std::memcpy(out + i * D, table + (int64_t)ids[i] * D, sizeof(float) * D);
  });
}

void embedding_scatter_add(const float* dOut, const int32_t* ids, float* dTable, int64_t n, int64_t V, int64_t D) {
  if (V <= 0 || D <= 0) return;
  // counting sort of positions by id: start[v] .. start[v+1] indexes order[]
  std::vector<int64_t> start((size_t)V + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++start[(size_t)ids[i] + 1];
  for (int64_t v = 0; v < V; ++v) start[(size_t)v + 1] += start[(size_t)v];
  std::vector<int64_t> order((size_t)std::max<int64_t>(n, 1));
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < n; ++i) order[(size_t)fill[(size_t)ids[i]]++] = i;
  }
  parallel_for(V, std::max<int64_t>(1, 8192 / D), [&](int64_t v0, int64_t v1) {
    for (int64_t v = v0; v < v1; ++v) {
      float* row = dTable + v * D;
      std::fill(row, row + D, 0.0f);
      for (int64_t j = start[(size_t)v]; j < start[(size_t)v + 1]; ++j) {
        const float* src = dOut + order[(size_t)j] * D;
        for (int64_t d = 0; d < D; ++d) row[d] += src[d];
      }
    }
  });
}

void embedding_grad_norm(const float* g, const int32_t* mask, float* norms, float* rowmax, int32_t* argmax, int64_t B,
                         int64_t L, int64_t D) {
  // per row: row_l2_norm and the first-maximum scan of seqfair/rows.h (the CUDA kernel's too)
  parallel_for(B, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, L * std::max<int64_t>(D, 1))),
               [&](int64_t b0, int64_t b1) {
                 for (int64_t b = b0; b < b1; ++b) {
                   float best = 0.0f;
                   int32_t best_l = 0;
                   for (int64_t l = 0; l < L; ++l) {
                     const int64_t r = b * L + l;
                     norms[r] = mask[r] != 0 ? row_l2_norm(g + r * D, D) : 0.0f;
                     first_argmax_update(norms[r], (int32_t)l, &best, &best_l);
                   }
                   rowmax[b] = best;  // 0 when L = 0
                   argmax[b] = best_l;
                 }
               });
}

}  // namespace seqfair
