// Element-wise binary ops with broadcasting (math and loop layout: seqfair/binary.h):
//   y (Π dims) = a op b, operand x read at Σ_d idx_d · stridesX[d]
// One thread per output element (grid-stride), offsets from broadcast_offsets and the op from
// binary_apply, the functions the CPU driver uses. The loop description travels by value as a
// kernel parameter (16 axes at most, ~400 bytes).
#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "seqfair/binary.h"

namespace seqfair {
namespace cuda {
namespace {

__global__ void sfk_binary(int32_t op, const float* a, const float* b, float* y, BroadcastLoop l, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t ao = 0, bo = 0;
    broadcast_offsets(l, i, &ao, &bo);
    y[i] = binary_apply(op, a[ao], b[bo]);
  }
}

}  // namespace

void binary_broadcast(int32_t op, const float* a, const float* b, float* y, const BroadcastLoop& l) {
  int64_t n = 1;
  for (int d = 0; d < l.rank; ++d) n *= l.dims[d];
  if (n <= 0) return;
  SEQFAIR_LAUNCH(grid_for(n, kThreads), dim3(kThreads), 0, stream(), sfk_binary)(op, a, b, y, l, n);
  check_launch("sfk_binary");
}

}  // namespace cuda
}  // namespace seqfair
