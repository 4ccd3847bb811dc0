// Bitonic sort of unsigned 64-bit keys (n a power of two), the building block of the
// deterministic scatter-adds (embedding gradient, neighbour-mix backward): keys are
// (id << 32 | position), so after sorting, the positions of each id are contiguous and in
// increasing order, and each output row can be summed by one thread in that fixed order — no float
// atomics (as llm.c's encoder backward buckets its indices).
// A sorting network does the same compare-exchanges whatever the data and the timing, and the keys
// are distinct, so the result is unique. Steps with a stride j < 1024 run inside one block in
// shared memory (sfk_bitonic_local: 1024 keys per block), longer strides as one global kernel per
// step (sfk_bitonic_global). O(n log² n): ~0.3 ms for 64 K keys, fine at batch scale; a radix
// sort would be the faster choice for millions of ids.
#include "cuda/kernels.h"
#include "cuda/launch.h"

namespace seqfair {
namespace cuda {
namespace {

constexpr int kLocal = 1024;  // keys per block in the shared-memory steps

__device__ __forceinline__ void compare_exchange(unsigned long long* s, int64_t t, int64_t j, bool up) {
  const unsigned long long a = s[t], b = s[t ^ j];
  if ((a > b) == up) {
    s[t] = b;
    s[t ^ j] = a;
  }
}

// for each k in [k_begin, k_end] (doubling): the steps j = min(k/2, chunk/2) ... 1 on each chunk
__global__ void __launch_bounds__(512) sfk_bitonic_local(unsigned long long* keys, int64_t n, int64_t chunk,
                                                         int64_t k_begin, int64_t k_end) {
  __shared__ unsigned long long s[kLocal];
  for (int64_t base = blockIdx.x * chunk; base < n; base += (int64_t)gridDim.x * chunk) {
    for (int64_t t = threadIdx.x; t < chunk; t += blockDim.x) s[t] = keys[base + t];
    __syncthreads();
    for (int64_t k = k_begin; k <= k_end; k <<= 1) {
      for (int64_t j = min64(k >> 1, chunk >> 1); j > 0; j >>= 1) {
        for (int64_t t = threadIdx.x; t < chunk; t += blockDim.x) {
          if ((t ^ j) > t) compare_exchange(s, t, j, ((base + t) & k) == 0);
        }
        __syncthreads();
      }
    }
    for (int64_t t = threadIdx.x; t < chunk; t += blockDim.x) keys[base + t] = s[t];
    __syncthreads();
  }
}

__global__ void sfk_bitonic_global(unsigned long long* keys, int64_t n, int64_t j, int64_t k) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    if ((i ^ j) > i) compare_exchange(keys, i, j, (i & k) == 0);
  }
}

__global__ void sfk_bucket_starts(const unsigned long long* keys, int64_t n, int64_t* start, int64_t V) {
  for (int64_t v = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; v <= V; v += (int64_t)gridDim.x * blockDim.x) {
    const unsigned long long target = (unsigned long long)v << 32;
    int64_t lo = 0, hi = n;  // lower_bound
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (keys[mid] < target) lo = mid + 1; else hi = mid;
    }
    start[v] = lo;
  }
}

}  // namespace

void bucket_starts(const unsigned long long* keys, int64_t n, int64_t* start, int64_t V) {
  SEQFAIR_LAUNCH(grid_for(V + 1, kThreads), dim3(kThreads), 0, stream(), sfk_bucket_starts)(keys, n, start, V);
  check_launch("sfk_bucket_starts");
}

void sort_u64(unsigned long long* keys, int64_t n) {
  if (n <= 1) return;
  const int64_t chunk = min64(n, kLocal);
  const unsigned blocks = grid_for(n / chunk, 1, 65535);
  SEQFAIR_LAUNCH(blocks, dim3(512), 0, stream(), sfk_bitonic_local)(keys, n, chunk, 2, chunk);
  check_launch("sfk_bitonic_local");
  for (int64_t k = 2 * chunk; k <= n; k <<= 1) {
    for (int64_t j = k >> 1; j >= chunk; j >>= 1) {
      SEQFAIR_LAUNCH(grid_for(n, kThreads), dim3(kThreads), 0, stream(), sfk_bitonic_global)(keys, n, j, k);
      check_launch("sfk_bitonic_global");
    }
    SEQFAIR_LAUNCH(blocks, dim3(512), 0, stream(), sfk_bitonic_local)(keys, n, chunk, k, k);
    check_launch("sfk_bitonic_local");
  }
}

}  // namespace cuda
}  // namespace seqfair
