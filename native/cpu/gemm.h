// GEMM and batched GEMM with transpose flags, row-major:
//   C[b] (m,n) = op(A[b]) · op(B[b])   (+= when accumulate)
//   A[b] is (m,k), or (k,m) when transA; B[b] is (k,n), or (n,k) when transB;
//   A[b] starts at A + b*strideA (strideA = 0 broadcasts one A), likewise B; C is dense (batch,m,n).
#pragma once
#include <cstdint>

namespace seqfair {

// Multithreaded over the batch and over blocks of C.
void gemm(const float* A, const float* B, float* C, int64_t batch, int64_t m, int64_t n, int64_t k, bool transA,
          bool transB, int64_t strideA, int64_t strideB, bool accumulate);

// Same contract, on the calling thread only: for kernels that already parallelise outside
// (e.g. attention over batch x heads).
void gemm_serial(const float* A, const float* B, float* C, int64_t batch, int64_t m, int64_t n, int64_t k,
                 bool transA, bool transB, int64_t strideA, int64_t strideB, bool accumulate);

}  // namespace seqfair
