// The CUDA addon's device layer, as plain C++ (no CUDA types: the N-API code in bind.cc includes
// it and is compiled by the host compiler): runtime/driver queries that never throw, device
// selection, the one stream, the caching device allocator, and host<->device copies.
//
// Allocator: device memory comes from cudaMalloc only (never managed memory) and is cached:
// a freed block goes to a free list keyed by its rounded size (512 B granules below 1 MiB,
// 128 KiB granules above) and is handed out again for a request of the same rounded size.
// When cudaMalloc fails, the cache is released (cudaFree of every cached block) and the request
// retried once before it fails with an error that says how much is live and cached.
// Freed blocks are reused by later work on the same stream, which the stream orders after every
// kernel that used the block before, so no synchronisation is needed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqfair {
namespace cuda {

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct DeviceProps {
  std::string name;
  int major = 0, minor = 0;
  uint64_t total_memory = 0;
  int multiprocessors = 0;
  uint64_t smem_per_block_optin = 0;
};

struct RuntimeInfo {
  int device_count = 0;        // 0 when none answers (error says why)
  std::string error;           // "" when at least one device answers
  int runtime_version = 0;     // e.g. 13000 for 13.0 (what the addon was built against)
  int driver_version = 0;      // 0 when no driver is installed
  std::vector<DeviceProps> devices;
};

// Never throws: without libcuda or a device, `error` is the CUDA runtime's message.
RuntimeInfo query_runtime() noexcept;

// Selects device 0 and creates the stream on first use; throws CudaError when that fails.
void ensure_device();
const DeviceProps& device_props();

// caching allocator (bytes == 0 gives nullptr)
void* device_alloc(size_t bytes);
void device_free(void* p, size_t bytes) noexcept;
void empty_cache();

struct MemStats {
  uint64_t live_bytes = 0;       // requested bytes of blocks handed out and not freed
  uint64_t live_blocks = 0;
  uint64_t reserved_bytes = 0;   // bytes held from cudaMalloc (live + cached, rounded)
  uint64_t cached_bytes = 0;     // bytes in the free lists
  uint64_t peak_live_bytes = 0;
  uint64_t device_mallocs = 0;   // cudaMalloc calls so far
  uint64_t cache_hits = 0;
};
MemStats memory_stats();

// copies on the stream; download waits for the stream (the host memory is then valid)
void upload(void* dst, const void* src, size_t bytes);
void download(void* dst, const void* src, size_t bytes);
void copy_device(void* dst, const void* src, size_t bytes);
void zero(void* p, size_t bytes);
void synchronize();

// A positive integer from the environment, or `fallback`: test hooks that shrink the work
// chunks (SEQFAIR_CUDA_CE_CHUNK, SEQFAIR_CUDA_TOPK_QUERIES, SEQFAIR_CUDA_TOPK_CANDIDATES) so that
// small test shapes exercise the multi-chunk paths. Never needed in normal use.
int64_t env_int(const char* name, int64_t fallback);

}  // namespace cuda
}  // namespace seqfair
