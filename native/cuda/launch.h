// Included by every native/cuda/*.cu file (never by the N-API code): the CUDA headers, the launch
// macro, error checks and small device helpers (block reductions, grid sizing).
//
// The kernels are written so that the same source also compiles with g++ against the CPU emulator
// of test/cuda/emu (SEQFAIR_CUDA_EMU defined): launches go through SEQFAIR_LAUNCH, dynamic shared
// memory through SEQFAIR_DYNAMIC_SMEM, and nothing else needs to differ. That is how the kernels'
// indexing, masking and synchronisation are tested on machines without a GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#if defined(SEQFAIR_CUDA_EMU)
#include "cuda_emu.h"
#define SEQFAIR_LAUNCH(grid, block, smem, stream, ...) \
  ::emu::launcher((grid), (block), (smem), #__VA_ARGS__, __VA_ARGS__)
#define SEQFAIR_DYNAMIC_SMEM(T, name) T* name = reinterpret_cast<T*>(::emu::dynamic_smem())
#define SEQFAIR_UNROLL
#else
#include <cuda_runtime.h>
// SEQFAIR_LAUNCH(grid, block, smem, stream, kernel<T...>)(args...)
#define SEQFAIR_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<(grid), (block), (smem), (stream)>>>
#define SEQFAIR_DYNAMIC_SMEM(T, name)                                      \
  extern __shared__ __align__(16) unsigned char seqfair_dynamic_smem_[]; \
  T* name = reinterpret_cast<T*>(seqfair_dynamic_smem_)
#define SEQFAIR_UNROLL _Pragma("unroll")
#endif

#include "cuda/runtime.h"
#include "seqfair/hd.h"

namespace seqfair {
namespace cuda {

// the one stream every kernel and copy of this addon runs on (created by ensure_device())
cudaStream_t stream();

// throws CudaError("<what>: <CUDA error string>") when e is not cudaSuccess
void check(cudaError_t e, const char* what);
// after a launch: a configuration error (or an earlier asynchronous fault) becomes a CudaError
void check_launch(const char* kernel);

constexpr int kThreads = 256;

// min/max usable in host and device code (std::min is a host constexpr function)
SEQFAIR_HD int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
SEQFAIR_HD int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// blocks for n work items of `per_block` each, at least 1 and at most `cap` (kernels grid-stride)
inline unsigned grid_for(int64_t n, int64_t per_block, int64_t cap = 65535LL * 16) {
  int64_t b = (n + per_block - 1) / per_block;
  if (b < 1) b = 1;
  if (b > cap) b = cap;
  return (unsigned)b;
}

// RAII scratch memory from the caching allocator; freeing returns it to the cache, and the one
// stream orders every later use after the kernels that use it now.
template <typename T>
class Scratch {
 public:
  explicit Scratch(int64_t n) : bytes_((size_t)(n > 0 ? n : 0) * sizeof(T)) {
    ptr_ = static_cast<T*>(device_alloc(bytes_));
  }
  ~Scratch() { device_free(ptr_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* get() const { return ptr_; }

 private:
  size_t bytes_;
  T* ptr_;
};

// ---- device helpers -----------------------------------------------------------------------------

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  SEQFAIR_UNROLL
  for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
  return v;
}

template <typename T>
__device__ __forceinline__ T warp_max(T v) {
  SEQFAIR_UNROLL
  for (int m = 16; m > 0; m >>= 1) {
    const T o = __shfl_xor_sync(0xffffffffu, v, m);
    v = o > v ? o : v;
  }
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024) in a fixed tree order, so the
// result is deterministic; every thread gets the total. `buf` holds 32 values of T in shared memory.
// Contains __syncthreads(): call it from block-uniform control flow only.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* buf) {
  const int lane = (int)threadIdx.x % 32, warp = (int)threadIdx.x / 32, nw = (int)blockDim.x / 32;
  v = warp_sum(v);
  __syncthreads();  // buf may still be read by a previous call
  if (lane == 0) buf[warp] = v;
  __syncthreads();
  T t = lane < nw ? buf[lane] : T(0);
  t = warp_sum(t);
  return t;
}

template <typename T>
__device__ __forceinline__ T block_max(T v, T* buf, T lowest) {
  const int lane = (int)threadIdx.x % 32, warp = (int)threadIdx.x / 32, nw = (int)blockDim.x / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) buf[warp] = v;
  __syncthreads();
  T t = lane < nw ? buf[lane] : lowest;
  t = warp_max(t);
  return t;
}

}  // namespace cuda
}  // namespace seqfair
