// Index validation on the device, so that ids living in device memory are checked before any
// kernel uses them as addresses (an out-of-range read on a GPU is a sticky fault that ends the
// process's CUDA context, the opposite of the addon's "bad input never crashes" rule):
//   first = min { i : ids[i] ∉ [lo, hi) and (!has_allowed or ids[i] != allowed) }
// atomicMin on an integer is order-independent, so the answer is deterministic.
#include "cuda/kernels.h"
#include "cuda/launch.h"

namespace seqfair {
namespace cuda {
namespace {

__global__ void sfk_check_range(const int32_t* ids, int64_t n, int64_t lo, int64_t hi, int has_allowed,
                                int64_t allowed, unsigned long long* first) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t v = ids[i];
    if (has_allowed && v == allowed) continue;
    if (v < lo || v >= hi) atomicMin(first, (unsigned long long)i);
  }
}

}  // namespace

int64_t first_out_of_range(const int32_t* ids, int64_t n, int64_t lo, int64_t hi, bool has_allowed, int64_t allowed,
                           int32_t* bad_value) {
  if (n <= 0) return -1;
  Scratch<unsigned long long> first(1);
  const unsigned long long none = ~0ull;
  upload(first.get(), &none, sizeof(none));
  SEQFAIR_LAUNCH(grid_for(n, kThreads, 4096), dim3(kThreads), 0, stream(), sfk_check_range)(
      ids, n, lo, hi, has_allowed ? 1 : 0, allowed, first.get());
  check_launch("sfk_check_range");
  unsigned long long got = none;
  download(&got, first.get(), sizeof(got));
  if (got == none) return -1;
  download(bad_value, ids + got, sizeof(int32_t));
  return (int64_t)got;
}

}  // namespace cuda
}  // namespace seqfair
