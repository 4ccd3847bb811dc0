// Keep freed heap memory for reuse instead of handing it back to the kernel.
//
// Every tensor is a fresh Float32Array whose backing store V8 gets from malloc, and V8 frees them
// in batches when it collects garbage. glibc then trims the top of the heap (and unmaps blocks
// above its mmap threshold), so the next few hundred megabytes are faulted in again page by page.
// On the VMs this project runs on a first touch costs ~10 µs per 4 KB page (bench/vm-probe.cc,
// 2026-12-06: 4 MB of fresh pages 9.8–11.5 ms to touch, a memset of them afterwards 0.08–0.20
// ms); a 1024³ GEMM into fresh outputs took 20 ms instead of 7 (`SEQFAIR_MALLOC=default npm run
// -s bench -- --only gemm-1024`).
// So, like the caching allocators of GPU frameworks, the process keeps what it has used: blocks
// up to 32 MiB (glibc's largest mmap threshold) come from the heap, and the heap is trimmed only
// when more than 1 GiB at its top is free. The price is a resident set that stays near its high
// mark. SEQFAIR_MALLOC=default leaves glibc's policy alone.
#include "cpu/memory_policy.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace seqfair {
namespace {
const char* g_policy = "default";
}

const char* apply_memory_policy() {
#if defined(__GLIBC__)
  const char* env = std::getenv("SEQFAIR_MALLOC");
  if (env != nullptr && std::strcmp(env, "default") == 0) return g_policy = "default";
  const bool ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
  return g_policy = ok ? "kept" : "default";
#else
  return g_policy = "not glibc";
#endif
}

const char* memory_policy() { return g_policy; }

}  // namespace seqfair
