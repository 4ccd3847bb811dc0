// Dirichlet weight rows on raw pointers (math: seqfair/dirichlet.h); bind_fused.cc validates
// 1 <= counts[r] <= K and alpha > 0 first.
#pragma once
#include <cstdint>

#include "seqfair/philox.h"

namespace seqfair {

// counts (rows) -> out (rows, K); draw (r, j) reads Philox counter key.offset + r*K + j only
void dirichlet_rows(const int32_t* counts, float* out, int64_t rows, int64_t K, double alpha, const RngKey& key);

}  // namespace seqfair
