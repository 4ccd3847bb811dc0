// The CPU addon's module: argument checking and dispatch only. Kernel bodies live in native/cpu/
// (pure C++ on raw pointers) and shared per-element math in native/include/seqfair/; the N-API
// wrappers that validate arguments are in bind_core.cc and bind_fused.cc.
#include <napi.h>

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  seqfair::apply_memory_policy();
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  seqfair::register_core(env, exports);
  seqfair::register_fused(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(seqfair_cpu, Init)
