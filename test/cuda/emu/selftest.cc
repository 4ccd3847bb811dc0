// Kernels that check the CPU emulator itself (test/cuda/emulator.test.ts): that __syncthreads()
// orders shared memory, that warp shuffles exchange lanes, that launch limits are enforced, and
// that the undefined behaviours it promises to catch (a barrier not reached by every thread, a
// full-mask shuffle in a partial warp) stop the process with a message. Compiled into the
// emulated addon only, exported as _emuSelfTest(name).
#include <napi.h>

#include <string>
#include <vector>

#include "cuda/launch.h"

namespace seqfair {
namespace cuda {
namespace {

__global__ void sfk_selftest_rotate(int* out, int n) {
  __shared__ int s[1024];
  const int t = (int)threadIdx.x;
  s[t] = t * 10;
  __syncthreads();
  out[t] = s[(t + 1) % n];
}

__global__ void sfk_selftest_warp_sum(int* out) {
  out[threadIdx.x] = warp_sum((int)threadIdx.x % 32);
}

__global__ void sfk_selftest_block_sum(double* out) {
  __shared__ double buf[32];
  const double v = block_sum((double)threadIdx.x, buf);
  if (threadIdx.x == 0) out[blockIdx.x] = v;
}

__global__ void sfk_selftest_divergent_sync(int* out) {
  if (threadIdx.x < 16) __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void sfk_selftest_early_return(int* out) {
  if (threadIdx.x == 0) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void sfk_selftest_partial_warp(int* out) { out[threadIdx.x] = warp_sum(1); }

Napi::Value SelfTest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  std::vector<int> out(2048, -1);
  Napi::Array res = Napi::Array::New(env);
  auto to_js = [&](int n) {
    for (int i = 0; i < n; ++i) res.Set((uint32_t)i, out[(size_t)i]);
    return res;
  };
  if (name == "rotate") {
    SEQFAIR_LAUNCH(dim3(3), dim3(64), 0, nullptr, sfk_selftest_rotate)(out.data(), 64);
    return to_js(64);
  }
  if (name == "warp_sum") {
    SEQFAIR_LAUNCH(dim3(1), dim3(64), 0, nullptr, sfk_selftest_warp_sum)(out.data());
    return to_js(64);
  }
  if (name == "block_sum") {
    std::vector<double> d(2, -1);
    SEQFAIR_LAUNCH(dim3(2), dim3(256), 0, nullptr, sfk_selftest_block_sum)(d.data());
    res.Set(0u, d[0]);
    res.Set(1u, d[1]);
    return res;
  }
  if (name == "bad_launch") {
    SEQFAIR_LAUNCH(dim3(1), dim3(2048), 0, nullptr, sfk_selftest_warp_sum)(out.data());
    return Napi::String::New(env, cudaGetErrorString(cudaGetLastError()));
  }
  if (name == "too_much_smem") {
    SEQFAIR_LAUNCH(dim3(1), dim3(32), 64 * 1024, nullptr, sfk_selftest_warp_sum)(out.data());
    return Napi::String::New(env, cudaGetErrorString(cudaGetLastError()));
  }
  if (name == "divergent_sync") SEQFAIR_LAUNCH(dim3(1), dim3(32), 0, nullptr, sfk_selftest_divergent_sync)(out.data());
  if (name == "early_return") SEQFAIR_LAUNCH(dim3(1), dim3(32), 0, nullptr, sfk_selftest_early_return)(out.data());
  if (name == "partial_warp") SEQFAIR_LAUNCH(dim3(1), dim3(48), 0, nullptr, sfk_selftest_partial_warp)(out.data());
  return env.Undefined();
}

}  // namespace

void register_emu_selftest(Napi::Env env, Napi::Object exports) {
  exports.Set("_emuSelfTest", Napi::Function::New(env, SelfTest, "_emuSelfTest"));
}

}  // namespace cuda
}  // namespace seqfair
