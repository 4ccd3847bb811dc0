// The CPU addon's module: argument checking and dispatch only. Kernel bodies live in native/cpu/
// (pure C++ on raw pointers) and shared per-element math in native/include/seqfair/; the N-API
// wrappers are in bind_core.cc and bind_fused.cc, the argument lists they validate (shared with
// the CUDA addon) in kernel_args_core.h and kernel_args_fused.h.
#include <napi.h>

#include <atomic>
#include <thread>
#include <vector>

#include "check.h"
#include "cpu/memory_policy.h"
#include "cpu/parallel.h"
#include "cpu/simd.h"

namespace seqfair {
void register_core(Napi::Env env, Napi::Object exports);
void register_fused(Napi::Env env, Napi::Object exports);
}  // namespace seqfair

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("threads", seqfair::num_threads());
  o.Set("simd", seqfair::simd_level_name());
  o.Set("memory", seqfair::memory_policy());
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  seqfair::expect_args(info, 1, "setThreads");
  seqfair::set_num_threads((int)seqfair::int_arg(info, 0, "setThreads", "threads", 1, 1024));
  return Napi::Number::New(info.Env(), seqfair::num_threads());
}

// The pool's exactly-once guarantee, checked from the test suite (test/backend/thread-pool.test.ts):
// `jobs` back-to-back parallel_for calls over n indices. Returns { bad: index visits, summed over
// the jobs, that were not exactly one; byWorkers: visits made on pool threads, so a test can tell
// that the pool took part rather than the caller draining every job alone }. Many short jobs with
// more threads than cores are what exposed a worker taking a stale index of the previous job.
Napi::Value PoolCheck(const Napi::CallbackInfo& info) {
  seqfair::expect_args(info, 3, "poolCheck");
  const int64_t jobs = seqfair::int_arg(info, 0, "poolCheck", "jobs", 1, 10000000);
  const int64_t n = seqfair::int_arg(info, 1, "poolCheck", "n", 1, 1 << 20);
  const int64_t grain = seqfair::int_arg(info, 2, "poolCheck", "grain", 1, 1 << 20);
  std::vector<std::atomic<int32_t>> visits(static_cast<size_t>(n));
  std::atomic<int64_t> by_workers{0};
  const std::thread::id caller = std::this_thread::get_id();
  int64_t bad = 0;
  for (int64_t j = 0; j < jobs; ++j) {
    for (auto& v : visits) v.store(0, std::memory_order_relaxed);
    seqfair::parallel_for(n, grain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) visits[static_cast<size_t>(i)].fetch_add(1, std::memory_order_relaxed);
      if (std::this_thread::get_id() != caller) by_workers.fetch_add(e - b, std::memory_order_relaxed);
    });
    for (auto& v : visits) bad += v.load(std::memory_order_relaxed) != 1;
  }
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("bad", static_cast<double>(bad));
  o.Set("byWorkers", static_cast<double>(by_workers.load()));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  seqfair::apply_memory_policy();
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("poolCheck", Napi::Function::New(env, PoolCheck));
  seqfair::register_core(env, exports);
  seqfair::register_fused(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(seqfair_cpu, Init)
