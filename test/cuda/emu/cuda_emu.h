// A CPU emulation of the subset of CUDA that native/cuda/*.cu uses, so that the very same kernel
// sources can be compiled by g++ and run on a machine without a GPU (test/cuda/emulated.test.ts).
//
// What is emulated:
//   - the execution model: a launch runs its blocks one after another; the threads of a block are
//     fibers (ucontext) on one OS thread, scheduled cooperatively. __syncthreads() is a barrier of
//     the whole block, warp shuffles are barriers of the 32 lanes of a warp. Shared memory
//     (__shared__, made `static` here) is therefore shared by exactly the threads of one block;
//   - strictness where real hardware would be undefined: a __syncthreads() that not every thread of
//     the block reaches, or a full-mask shuffle with a missing lane, stops the process with a
//     message naming the kernel (on a GPU it would hang or silently give garbage);
//   - launch checks like the driver's: grid and block dimensions, dynamic shared memory against the
//     per-kernel limit (48 KiB unless raised by cudaFuncSetAttribute);
//   - the runtime API calls that native/cuda/runtime.cu makes (device memory is host memory).
// What is not: the memory model across blocks (blocks run sequentially, so a missing
// __threadfence or a race between blocks is invisible), timing, and float rounding differences of
// the GPU's math library (the host libm is used).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>

#define SEQFAIR_EMU_MAX_THREADS 1024

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) alignas(n)

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
struct CUstream_st;
typedef CUstream_st* cudaStream_t;
#define cudaStreamNonBlocking 0x01

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int major, minor;
  int multiProcessorCount;
  size_t sharedMemPerBlockOptin;
};

namespace emu {

struct Fiber;
// the state of the block being run (one at a time)
extern uint3 g_block_idx;
extern dim3 g_block_dim, g_grid_dim;
extern Fiber* g_current;
extern cudaError_t g_last_error;
uint3 thread_idx();
void sync_block();
void sync_warp();
unsigned char* dynamic_smem();
// exchange of one 8-byte value between the lanes of a warp; returns lane `src`'s value
uint64_t warp_exchange(uint64_t v, int src_lane);
int lane_id();

void launch_impl(dim3 grid, dim3 block, size_t smem, const void* kernel, const char* name,
                 const std::function<void()>& body);

// SEQFAIR_LAUNCH(grid, block, smem, stream, kernel)(args...) in the emulated build
template <typename... P>
struct Launcher {
  dim3 grid, block;
  size_t smem;
  const char* name;
  void (*k)(P...);
  template <typename... A>
  void operator()(A&&... args) const {
    void (*kk)(P...) = k;
    launch_impl(grid, block, smem, reinterpret_cast<const void*>(k), name,
                [&] { kk(static_cast<P>(args)...); });
  }
};
template <typename... P>
Launcher<P...> launcher(dim3 grid, dim3 block, size_t smem, const char* name, void (*k)(P...)) {
  return Launcher<P...>{grid, block, smem, name, k};
}

void set_max_dynamic_smem(const void* kernel, int bytes);

template <typename T>
T shfl_impl(T v, int src) {
  static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  const uint64_t got = warp_exchange(bits, src);
  T out;
  std::memcpy(&out, &got, sizeof(T));
  return out;
}

}  // namespace emu

#define threadIdx (::emu::thread_idx())
#define blockIdx (::emu::g_block_idx)
#define blockDim (::emu::g_block_dim)
#define gridDim (::emu::g_grid_dim)

inline void __syncthreads() { ::emu::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::emu::sync_warp(); }
template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int mask, int = 32) {
  return ::emu::shfl_impl(v, ::emu::lane_id() ^ mask);
}
template <typename T>
inline T __shfl_sync(unsigned, T v, int src, int = 32) {
  return ::emu::shfl_impl(v, src);
}
template <typename T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta, int = 32) {
  const int src = ::emu::lane_id() + (int)delta;
  return ::emu::shfl_impl(v, src < 32 ? src : ::emu::lane_id());
}

// atomics: every fiber runs on one OS thread, so plain read-modify-write is atomic
template <typename T>
inline T atomicMin(T* a, T v) {
  const T old = *a;
  if (v < old) *a = v;
  return old;
}
template <typename T>
inline T atomicAdd(T* a, T v) {
  const T old = *a;
  *a = old + v;
  return old;
}
inline void __threadfence() {}
inline float __int_as_float(int v) {
  float f;
  std::memcpy(&f, &v, 4);
  return f;
}

// ---- runtime API subset ----
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaDriverGetVersion(int* v);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
template <typename F>
cudaError_t cudaFuncSetAttribute(F* kernel, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) ::emu::set_max_dynamic_smem(reinterpret_cast<const void*>(kernel), value);
  return cudaSuccess;
}
