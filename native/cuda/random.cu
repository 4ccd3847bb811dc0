// Counter-based random kernels (Philox-4x32-10, seqfair/philox.h), bit-identical to the CPU and
// reference backends because element e of a call uses only the Philox counter of e:
//   uniform  out[i] = word (e % 4) of block e / 4,  e = key.offset + i       (n values)
//   normal   out[i] = Box–Muller on block e (tag 1)                          (n values)
//   dropout  y[i]   = dropout_elem(x[i], uniform(e), p, 1 - p)  (seqfair/dropout.h; backward = the same on dy)
//   dirichlet row r = dirichlet_row(key, r, K, counts[r], alpha) (seqfair/dirichlet.h), (rows, K)
// uniform/dropout: one thread per Philox block (4 consecutive elements share it, as on the CPU);
// normal: one thread per element; dirichlet: one thread per row (the Gamma rejection loop
// diverges per row; rows are independent). This file is compiled with -fmad=false (CMakeLists.txt)
// so the double-precision Box–Muller and the float Marsaglia–Tsang steps (seqfair/portable_math.h)
// round exactly like the host code, which never contracts a·b+c into an FMA.
#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "seqfair/dirichlet.h"
#include "seqfair/dropout.h"
#include "seqfair/philox.h"

namespace seqfair {
namespace cuda {
namespace {

// Philox blocks touched by elements [offset, offset + n): first block and count
struct BlockRange {
  uint64_t first, count;
};
BlockRange block_range(const RngKey& key, int64_t n) {
  const uint64_t first = key.offset >> 2, last = (key.offset + (uint64_t)n - 1) >> 2;
  return BlockRange{first, last - first + 1};
}

__global__ void sfk_uniform(float* out, int64_t n, RngKey key, uint64_t first_block, uint64_t blocks) {
  for (uint64_t t = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; t < blocks; t += (uint64_t)gridDim.x * blockDim.x) {
    const uint64_t blk = first_block + t;
    const Philox4 w = philox_block(key.seed, blk, key.stream, 0);
    for (uint32_t q = 0; q < 4; ++q) {
      const uint64_t e = blk * 4 + q;
      if (e < key.offset || e >= key.offset + (uint64_t)n) continue;
      out[e - key.offset] = (float)u32_to_uniform(w.w[q]);
    }
  }
}

__global__ void sfk_dropout(const float* x, float* y, int64_t n, double p, RngKey key, uint64_t first_block,
                            uint64_t blocks) {
  const double keep = 1.0 - p;
  for (uint64_t t = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; t < blocks; t += (uint64_t)gridDim.x * blockDim.x) {
    const uint64_t blk = first_block + t;
    const Philox4 w = philox_block(key.seed, blk, key.stream, 0);
    for (uint32_t q = 0; q < 4; ++q) {
      const uint64_t e = blk * 4 + q;
      if (e < key.offset || e >= key.offset + (uint64_t)n) continue;
      const uint64_t i = e - key.offset;
      y[i] = dropout_elem(x[i], (float)u32_to_uniform(w.w[q]), p, keep);
    }
  }
}

__global__ void sfk_normal(float* out, int64_t n, RngKey key) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    out[i] = normal_at(key, key.offset + (uint64_t)i);
  }
}

__global__ void sfk_dirichlet(const int32_t* counts, float* out, int64_t rows, int64_t K, GammaParams g, RngKey key) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    // the row's log-draws go to its own output row, then are normalised in place
    dirichlet_row(key, r, K, counts[r], g, out + r * K);
  }
}

}  // namespace

void uniform(float* out, int64_t n, const RngKey& key) {
  if (n <= 0) return;
  const BlockRange br = block_range(key, n);
  SEQFAIR_LAUNCH(grid_for((int64_t)br.count, kThreads), dim3(kThreads), 0, stream(), sfk_uniform)(out, n, key, br.first,
                                                                                               br.count);
  check_launch("sfk_uniform");
}

void normal(float* out, int64_t n, const RngKey& key) {
  if (n <= 0) return;
  SEQFAIR_LAUNCH(grid_for(n, kThreads), dim3(kThreads), 0, stream(), sfk_normal)(out, n, key);
  check_launch("sfk_normal");
}

void dropout(const float* x, float* y, int64_t n, double p, const RngKey& key) {
  if (n <= 0) return;
  const BlockRange br = block_range(key, n);
  SEQFAIR_LAUNCH(grid_for((int64_t)br.count, kThreads), dim3(kThreads), 0, stream(), sfk_dropout)(x, y, n, p, key,
                                                                                               br.first, br.count);
  check_launch("sfk_dropout");
}

void dirichlet(const int32_t* counts, float* out, int64_t rows, int64_t K, double alpha, const RngKey& key) {
  if (rows <= 0 || K <= 0) return;
  const GammaParams g = gamma_params(alpha);  // on the host: the same float constants as the CPU
  SEQFAIR_LAUNCH(grid_for(rows, 128), dim3(128), 0, stream(), sfk_dirichlet)(counts, out, rows, K, g, key);
  check_launch("sfk_dirichlet");
}

}  // namespace cuda
}  // namespace seqfair
