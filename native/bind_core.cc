// N-API wrappers of the core kernels: the argument lists are described once, for both addons, in
// kernel_args_core.h (count, dims, each typed array's type and exact length, which outputs must
// not overlap which arrays); here each wrapper parses with the CPU's TypedArrays, checks the ids
// on the host and runs its kernel (cpu/gemm.cc, cpu/rowwise.cc, cpu/random.cc, cpu/embedding.cc,
// cpu/adam.cc, cpu/binary.cc). A bad call throws a JS TypeError/RangeError before any work and
// never touches memory. Outputs are preallocated by the caller (src/backend/cpu.ts).
#include <napi.h>

#include <new>
#include <stdexcept>
#include <string>

#include "check.h"
#include "cpu/adam.h"
#include "cpu/binary.h"
#include "cpu/embedding.h"
#include "cpu/gemm.h"
#include "cpu/random.h"
#include "cpu/rowwise.h"
#include "kernel_args_core.h"
#include "typed_arrays.h"

namespace seqfair {
namespace {

// the core kernels' overlap messages say "output c must not overlap input a"
TypedArrays core_call(const Napi::CallbackInfo& info, const char* fn) {
  return TypedArrays(info, fn, TypedArrays::Wording::kOutputInput);
}

// Runs a kernel; a C++ exception from it (std::bad_alloc for a scratch buffer) becomes a JS Error
// instead of terminating the process.
template <typename F>
void run_kernel(Napi::Env env, const char* fn, F&& f) {
  try {
    f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, std::string(fn) + ": out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string(fn) + ": " + e.what());
  }
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* fn = "gemm";
  Napi::Env env = info.Env();
  const args::Gemm g = args::parse_gemm(core_call(info, fn));
  // the CPU kernel takes the batch strides, which must be sane products too (even when batch is 0)
  const int64_t sa = checked_mul(env, fn, {g.m, g.k}), sb = checked_mul(env, fn, {g.k, g.n});
  run_kernel(env, fn, [&] {
    gemm(g.a, g.b, g.c, g.batch, g.m, g.n, g.k, g.transA, g.transB, g.batchedA ? sa : 0, g.batchedB ? sb : 0,
         g.accumulate);
  });
  return env.Undefined();
}

Napi::Value Uniform(const Napi::CallbackInfo& info) {
  const args::RandomFill r = args::parse_random_fill(core_call(info, "uniform"));
  run_kernel(info.Env(), "uniform", [&] { fill_uniform(r.out, r.n, r.key); });
  return info.Env().Undefined();
}

Napi::Value Normal(const Napi::CallbackInfo& info) {
  const args::RandomFill r = args::parse_random_fill(core_call(info, "normal"));
  run_kernel(info.Env(), "normal", [&] { fill_normal(r.out, r.n, r.key); });
  return info.Env().Undefined();
}

Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  const args::Dropout d = args::parse_dropout(core_call(info, "dropoutForward"), "x", "y");
  run_kernel(info.Env(), "dropoutForward", [&] { dropout_forward(d.in, d.out, d.n, d.p, d.key); });
  return info.Env().Undefined();
}

Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  const args::Dropout d = args::parse_dropout(core_call(info, "dropoutBackward"), "dy", "dx");
  run_kernel(info.Env(), "dropoutBackward", [&] { dropout_backward(d.in, d.out, d.n, d.p, d.key); });
  return info.Env().Undefined();
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  const char* fn = "gather";
  const args::Gather g = args::parse_gather(core_call(info, fn));
  check_ids(info.Env(), g.ids, g.n, 0, g.V, fn, "ids");
  run_kernel(info.Env(), fn, [&] { embedding_gather(g.table, g.ids, g.out, g.n, g.V, g.D); });
  return info.Env().Undefined();
}

Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  const char* fn = "scatterAdd";
  const args::ScatterAdd s = args::parse_scatter_add(core_call(info, fn));
  check_ids(info.Env(), s.ids, s.n, 0, s.V, fn, "ids");
  run_kernel(info.Env(), fn, [&] { embedding_scatter_add(s.dOut, s.ids, s.dTable, s.n, s.V, s.D); });
  return info.Env().Undefined();
}

Napi::Value GradNorm(const Napi::CallbackInfo& info) {
  const char* fn = "gradNorm";
  const args::GradNorm a = args::parse_grad_norm(core_call(info, fn));
  check_ids(info.Env(), a.mask, a.B * a.L, 0, 2, fn, "mask");
  run_kernel(info.Env(), fn, [&] { embedding_grad_norm(a.g, a.mask, a.norms, a.rowmax, a.argmax, a.B, a.L, a.D); });
  return info.Env().Undefined();
}

Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  const args::LayerNormForward a = args::parse_layer_norm_forward(core_call(info, "layerNormForward"));
  run_kernel(info.Env(), "layerNormForward",
             [&] { layer_norm_forward(a.x, a.gamma, a.beta, a.y, a.mean, a.rstd, a.rows, a.D, a.eps); });
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  const args::LayerNormBackward a = args::parse_layer_norm_backward(core_call(info, "layerNormBackward"));
  run_kernel(info.Env(), "layerNormBackward", [&] {
    layer_norm_backward(a.x, a.gamma, a.mean, a.rstd, a.dy, a.dx, a.dGamma, a.dBeta, a.rows, a.D);
  });
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  const args::Binary b = args::parse_binary(core_call(info, "binary"));
  run_kernel(info.Env(), "binary", [&] { binary_broadcast(b.op, b.a, b.b, b.y, b.loop); });
  return info.Env().Undefined();
}

Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  const args::GeluForward g = args::parse_gelu_forward(core_call(info, "geluForward"));
  run_kernel(info.Env(), "geluForward", [&] { gelu_forward(g.x, g.y, g.n); });
  return info.Env().Undefined();
}

Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  const args::GeluBackward g = args::parse_gelu_backward(core_call(info, "geluBackward"));
  run_kernel(info.Env(), "geluBackward", [&] { gelu_backward(g.x, g.dy, g.dx, g.n); });
  return info.Env().Undefined();
}

Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) {
  const args::SoftmaxForward s = args::parse_softmax_forward(core_call(info, "softmaxForward"));
  run_kernel(info.Env(), "softmaxForward", [&] { softmax_forward(s.x, s.y, s.rows, s.C); });
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const args::SoftmaxBackward s = args::parse_softmax_backward(core_call(info, "softmaxBackward"));
  run_kernel(info.Env(), "softmaxBackward", [&] { softmax_backward(s.y, s.dy, s.dx, s.rows, s.C); });
  return info.Env().Undefined();
}

Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const args::AdamStep a = args::parse_adam_step(core_call(info, "adamStep"));
  run_kernel(info.Env(), "adamStep", [&] {
    adam_step(a.param, a.grad, a.m, a.v, a.n, a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.decoupled, a.step);
  });
  return info.Env().Undefined();
}

}  // namespace

void register_core(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("uniform", Napi::Function::New(env, Uniform, "uniform"));
  exports.Set("normal", Napi::Function::New(env, Normal, "normal"));
  exports.Set("dropoutForward", Napi::Function::New(env, DropoutForward, "dropoutForward"));
  exports.Set("dropoutBackward", Napi::Function::New(env, DropoutBackward, "dropoutBackward"));
  exports.Set("gather", Napi::Function::New(env, Gather, "gather"));
  exports.Set("scatterAdd", Napi::Function::New(env, ScatterAdd, "scatterAdd"));
  exports.Set("gradNorm", Napi::Function::New(env, GradNorm, "gradNorm"));
  exports.Set("layerNormForward", Napi::Function::New(env, LayerNormForward, "layerNormForward"));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward, "layerNormBackward"));
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("geluForward", Napi::Function::New(env, GeluForward, "geluForward"));
  exports.Set("geluBackward", Napi::Function::New(env, GeluBackward, "geluBackward"));
  exports.Set("softmaxForward", Napi::Function::New(env, SoftmaxForward, "softmaxForward"));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward, "softmaxBackward"));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep, "adamStep"));
}

}  // namespace seqfair
