// Embedding kernels on raw pointers (ids already checked to lie in [0, V) by the N-API layer).
#pragma once
#include <cstdint>

namespace seqfair {

// out (n,D) = table (V,D)[ids]
void embedding_gather(const float* table, const int32_t* ids, float* out, int64_t n, int64_t V, int64_t D);
// dTable (V,D) overwritten: row v = Σ_{i: ids[i]=v} dOut[i] in increasing i (deterministic)
void embedding_scatter_add(const float* dOut, const int32_t* ids, float* dTable, int64_t n, int64_t V, int64_t D);
// A-FSR Eq. 3: g (B,L,D), mask (B,L) in {0,1} -> norms (B,L), rowmax (B), argmax (B)
void embedding_grad_norm(const float* g, const int32_t* mask, float* norms, float* rowmax, int32_t* argmax, int64_t B,
                         int64_t L, int64_t D);

}  // namespace seqfair
