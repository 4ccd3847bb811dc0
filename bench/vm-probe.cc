// Two facts about the machine that the README's speed figures depend on, printed in one run:
//   1. the peak single-precision FMA rate: 12 independent AVX-512 FMA chains per thread, in
//      registers (no memory traffic), on 1 and on 2 threads: the ceiling a GEMM can approach;
//   2. the cost of first-touching fresh pages: mmap 4 MB, write one byte per 4 KB page, against a
//      memset of the same, already present pages (why native/cpu/memory_policy.cc keeps memory).
// Build and run (outside the npm project, x86-64 with AVX-512):
//   g++ -O2 -pthread bench/vm-probe.cc -o /tmp/vm-probe && /tmp/vm-probe
#include <immintrin.h>
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

__attribute__((target("avx512f"))) float fma_chains(long iters) {
  __m512 a[12];
  const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-8f);
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps((float)i);
  for (long t = 0; t < iters; ++t) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
  }
  alignas(64) float lanes[16];
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  _mm512_store_ps(lanes, s);
  float sum = 0.0f;
  for (float x : lanes) sum += x;
  return sum;  // returned so the loop is not optimised away
}

}  // namespace

int main() {
  const long iters = 200000000;
  for (int threads = 1; threads <= 2; ++threads) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    std::vector<float> sink(threads);
    for (int i = 0; i < threads; ++i) pool.emplace_back([&, i] { sink[i] = fma_chains(iters); });
    for (auto& t : pool) t.join();
    const double s = seconds_since(t0);
    std::printf("FMA peak, %d thread%s: %.1f GFLOP/s (checksum %g)\n", threads, threads > 1 ? "s" : "",
                threads * iters * 12.0 * 32.0 / s / 1e9, (double)sink[0]);
  }
  const size_t bytes = 4u << 20;
  for (int round = 0; round < 3; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    char* p = static_cast<char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) return 1;
    for (size_t j = 0; j < bytes; j += 4096) p[j] = 1;
    const double touch = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    std::memset(p, 2, bytes);
    const double set = seconds_since(t0);
    munmap(p, bytes);
    std::printf("4 MB fresh pages: first touch %.2f ms (%.2f us per 4 KB page), memset afterwards %.2f ms\n",
                touch * 1e3, touch * 1e6 / (double)(bytes / 4096), set * 1e3);
  }
  return 0;
}
