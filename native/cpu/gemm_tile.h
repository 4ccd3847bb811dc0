// gemm_serial for the tiles of the fused kernels, with the degenerate shapes handled here:
// m or n = 0 does nothing, k = 0 gives C = 0 (or leaves C when accumulating), so the kernels never
// depend on how the GEMM treats empty operands.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cpu/gemm.h"

namespace seqfair {

// C (m,n) (+)= op(A) · op(B), single-threaded (the caller parallelises around it)
inline void gemm_tile(const float* A, const float* B, float* C, int64_t m, int64_t n, int64_t k, bool transA,
                      bool transB, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) std::fill(C, C + m * n, 0.0f);
    return;
  }
  gemm_serial(A, B, C, 1, m, n, k, transA, transB, 0, 0, accumulate);
}

}  // namespace seqfair

namespace seqfair {

// multithreaded C (m,n) = op(A) · op(B) with the same degenerate-shape rules as gemm_tile
inline void gemm_full(const float* A, const float* B, float* C, int64_t m, int64_t n, int64_t k, bool transA,
                      bool transB) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    std::fill(C, C + m * n, 0.0f);
    return;
  }
  gemm(A, B, C, 1, m, n, k, transA, transB, 0, 0, false);
}

}  // namespace seqfair
