// Device layer of the CUDA addon: see runtime.h for the contract and the allocator's rules.
// The CUDA runtime is linked statically (cudart_static): it opens libcuda lazily on the first call
// and reports a missing driver as an error code, so this addon loads on any machine and says why
// it cannot run instead of failing to load.
#include <cstdlib>
#include <map>
#include <mutex>

#include "cuda/launch.h"

namespace seqfair {
namespace cuda {
namespace {

std::mutex g_mutex;  // the allocator and the device state (JS worker threads may share the addon)
bool g_ready = false;
cudaStream_t g_stream = nullptr;
DeviceProps g_props;

std::multimap<size_t, void*> g_free;       // rounded size -> cached block
std::map<void*, size_t> g_block_size;      // every block from cudaMalloc -> rounded size
MemStats g_stats;

size_t round_size(size_t bytes) {
  const size_t small = 512, large = 128 * 1024;
  if (bytes < (size_t(1) << 20)) return (bytes + small - 1) / small * small;
  return (bytes + large - 1) / large * large;
}

void release_cache_locked() {
  for (auto& kv : g_free) {
    cudaFree(kv.second);
    g_block_size.erase(kv.second);
    g_stats.reserved_bytes -= kv.first;
  }
  g_free.clear();
  g_stats.cached_bytes = 0;
}

std::string mib(uint64_t b) { return std::to_string((double)b / (1024.0 * 1024.0)).substr(0, 8) + " MiB"; }

}  // namespace

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so later calls can still work
    throw CudaError(std::string(what) + ": " + cudaGetErrorString(e));
  }
}

void check_launch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw CudaError(std::string("launch of ") + kernel + " failed: " + cudaGetErrorString(e));
}

RuntimeInfo query_runtime() noexcept {
  RuntimeInfo r;
  cudaRuntimeGetVersion(&r.runtime_version);
  if (cudaDriverGetVersion(&r.driver_version) != cudaSuccess) r.driver_version = 0;
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    r.device_count = 0;
    r.error = cudaGetErrorString(e);
    if (r.driver_version == 0) r.error += " (no NVIDIA driver / libcuda found)";
    return r;
  }
  r.device_count = n;
  if (n == 0) r.error = "no CUDA-capable device is detected";
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    DeviceProps d;
    d.name = p.name;
    d.major = p.major;
    d.minor = p.minor;
    d.total_memory = p.totalGlobalMem;
    d.multiprocessors = p.multiProcessorCount;
    d.smem_per_block_optin = p.sharedMemPerBlockOptin;
    r.devices.push_back(d);
  }
  return r;
}

void ensure_device() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_ready) return;
  int n = 0;
  check(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
  if (n == 0) throw CudaError("no CUDA-capable device is detected");
  check(cudaSetDevice(0), "cudaSetDevice(0)");
  cudaDeviceProp p;
  check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  g_props.name = p.name;
  g_props.major = p.major;
  g_props.minor = p.minor;
  g_props.total_memory = p.totalGlobalMem;
  g_props.multiprocessors = p.multiProcessorCount;
  g_props.smem_per_block_optin = p.sharedMemPerBlockOptin;
  if (g_props.major < 8) {
    throw CudaError("device 0 (" + g_props.name + ") has compute capability " + std::to_string(g_props.major) + "." +
                    std::to_string(g_props.minor) + "; this build needs 8.0 or newer");
  }
  check(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  g_ready = true;
}

const DeviceProps& device_props() {
  ensure_device();
  return g_props;
}

cudaStream_t stream() { return g_stream; }

void* device_alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  ensure_device();
  std::lock_guard<std::mutex> lock(g_mutex);
  const size_t rs = round_size(bytes);
  void* p = nullptr;
  auto it = g_free.find(rs);
  if (it != g_free.end()) {
    p = it->second;
    g_free.erase(it);
    g_stats.cached_bytes -= rs;
    ++g_stats.cache_hits;
  } else {
    cudaError_t e = cudaMalloc(&p, rs);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cache_locked();
      e = cudaMalloc(&p, rs);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      throw CudaError("out of device memory: cudaMalloc of " + mib(rs) + " failed (" + cudaGetErrorString(e) +
                      "); live " + mib(g_stats.live_bytes) + " in " + std::to_string(g_stats.live_blocks) +
                      " buffers");
    }
    ++g_stats.device_mallocs;
    g_stats.reserved_bytes += rs;
    g_block_size[p] = rs;
  }
  g_stats.live_bytes += bytes;
  ++g_stats.live_blocks;
  if (g_stats.live_bytes > g_stats.peak_live_bytes) g_stats.peak_live_bytes = g_stats.live_bytes;
  return p;
}

void device_free(void* p, size_t bytes) noexcept {
  if (!p) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_block_size.find(p);
  if (it == g_block_size.end()) return;  // not ours: never happens through the handle table
  g_free.emplace(it->second, p);
  g_stats.cached_bytes += it->second;
  g_stats.live_bytes -= bytes;
  --g_stats.live_blocks;
}

void empty_cache() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_ready) return;
  cudaStreamSynchronize(g_stream);
  release_cache_locked();
}

MemStats memory_stats() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_stats;
}

void upload(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g_stream), "copy to device");
}

void download(void* dst, const void* src, size_t bytes) {
  if (bytes > 0) check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, g_stream), "copy to host");
  check(cudaStreamSynchronize(g_stream), "stream synchronize");
}

void copy_device(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, g_stream), "device copy");
}

void zero(void* p, size_t bytes) {
  if (bytes == 0) return;
  check(cudaMemsetAsync(p, 0, bytes, g_stream), "cudaMemsetAsync");
}

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  return (end && *end == 0 && x > 0) ? (int64_t)x : fallback;
}

void synchronize() {
  if (!g_ready) return;
  check(cudaStreamSynchronize(g_stream), "stream synchronize");
}

}  // namespace cuda
}  // namespace seqfair
