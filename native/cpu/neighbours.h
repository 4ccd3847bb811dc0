// A-FSR neighbourhood kernels on raw pointers: cosine top-k (FORMAT.md 4.10), its 2-hop union,
// and the weighted neighbour mix of A-FSR Eq. 7 with its backward. bind_fused.cc validates every
// id and length first (queries/indices in [0,N), neighbour ids in [-1,V), 0 <= k <= N-1).
#pragma once
#include <cstdint>

namespace seqfair {

// x (N,D); queries (Q) row ids or null (Q = N, all rows) -> indices (Q,k), similarities (Q,k)
void cosine_topk(const float* x, const int32_t* queries, int64_t Q, int32_t* indices, float* similarities, int64_t N,
                 int64_t D, int64_t k);
// indices (N,k) -> two_hop (N, k+k²) sorted, self excluded, -1 padded; count (N)
void two_hop(const int32_t* indices, int32_t* two_hop_out, int32_t* count, int64_t N, int64_t k);
// out (R,D) = Σ_j w[r,j] table[ids[r,j]] over ids >= 0; ids, w (R,K); table (V,D)
void neighbour_mix(const float* table, const int32_t* ids, const float* w, float* out, int64_t R, int64_t K, int64_t V,
                   int64_t D);
// dtable (V,D) = Σ_{(r,j): ids[r,j] = v} w[r,j] dout[r], in (r,j) order (bucketed by id)
void neighbour_mix_backward(const float* dout, const int32_t* ids, const float* w, float* dtable, int64_t R, int64_t K,
                            int64_t V, int64_t D);

}  // namespace seqfair
