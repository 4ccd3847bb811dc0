// N-API wrappers of the core kernels: argument checks and dispatch only (kernel bodies are in
// cpu/gemm.cc, cpu/rowwise.cc, cpu/random.cc, cpu/embedding.cc, cpu/adam.cc, cpu/binary.cc). Every wrapper checks
// the argument count, each typed array's type and exact length against the dimensions, integer
// ranges, every index, and that outputs do not overlap the inputs they are computed from, before
// any work; a bad call throws a JS TypeError/RangeError and never touches memory.
// Outputs are preallocated by the caller (src/backend/cpu.ts).
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

namespace seqfair {
namespace {

constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;

int64_t dim_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  return int_arg(info, i, fn, name, 0, kMaxDim);
}

// Byte range of a typed array argument (already type-checked).
struct Span {
  const char* lo;
  const char* hi;
  const char* name;
};

Span span_of(const Napi::CallbackInfo& info, size_t i, const char* name) {
  napi_typedarray_type type;
  size_t length = 0, byte_offset = 0;
  void* data = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(info.Env(), info[i], &type, &length, &data, &buffer, &byte_offset) != napi_ok) {
    throw_type(info.Env(), std::string("expected ") + name + " to be a typed array");
  }
  const size_t elem = (type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array) ? 8
                      : (type == napi_int8_array || type == napi_uint8_array || type == napi_uint8_clamped_array) ? 1
                      : (type == napi_int16_array || type == napi_uint16_array) ? 2
                                                                                 : 4;
  const char* base = static_cast<const char*>(data);
  return Span{base, base + length * elem, name};
}

// Throws when output `out` shares bytes with input `in` (the kernel would read what it wrote).
void no_overlap(const Napi::CallbackInfo& info, const char* fn, size_t out, const char* out_name, size_t in,
                const char* in_name) {
  const Span a = span_of(info, out, out_name), b = span_of(info, in, in_name);
  if (a.lo < b.hi && b.lo < a.hi) {
    throw_range(info.Env(), std::string(fn) + ": output " + out_name + " must not overlap input " + in_name);
  }
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

double prob_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const double p = number_arg(info, i, fn, "p");
  if (!(p >= 0.0 && p < 1.0)) {
    throw_range(info.Env(), std::string(fn) + ": p must be in [0, 1), got " + std::to_string(p));
  }
  return p;
}

// ---- gemm ---------------------------------------------------------------------------------------

// gemm(a, b, c, batch, m, n, k, transA, transB, batchedA, batchedB, accumulate)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* fn = "gemm";
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  const int64_t batch = dim_arg(info, 3, fn, "batch");
  const int64_t m = dim_arg(info, 4, fn, "m");
  const int64_t n = dim_arg(info, 5, fn, "n");
  const int64_t k = dim_arg(info, 6, fn, "k");
  const bool transA = bool_arg(info, 7, fn, "transA");
  const bool transB = bool_arg(info, 8, fn, "transB");
  const bool batchedA = bool_arg(info, 9, fn, "batchedA");
  const bool batchedB = bool_arg(info, 10, fn, "batchedB");
  const bool accumulate = bool_arg(info, 11, fn, "accumulate");
  const int64_t sa = checked_mul(env, fn, {m, k}), sb = checked_mul(env, fn, {k, n});
  const int64_t la = checked_mul(env, fn, {batchedA ? batch : 1, m, k});
  const int64_t lb = checked_mul(env, fn, {batchedB ? batch : 1, k, n});
  const int64_t lc = checked_mul(env, fn, {batch, m, n});
  const float* a = f32_arg(info, 0, fn, "a", la);
  const float* b = f32_arg(info, 1, fn, "b", lb);
  float* c = f32_arg(info, 2, fn, "c", lc);
  no_overlap(info, fn, 2, "c", 0, "a");
  no_overlap(info, fn, 2, "c", 1, "b");
  run_kernel(env, fn, [&] {
    gemm(a, b, c, batch, m, n, k, transA, transB, batchedA ? sa : 0, batchedB ? sb : 0, accumulate);
  });
  return env.Undefined();
}

// ---- random -------------------------------------------------------------------------------------

// uniform(out, key)
Napi::Value Uniform(const Napi::CallbackInfo& info) {
  const char* fn = "uniform";
  expect_args(info, 2, fn);
  float* out = f32_arg(info, 0, fn, "out", -1);
  const RngKey key = key_arg(info, 1, fn);
  const int64_t n = (int64_t)info[0].As<Napi::TypedArray>().ElementLength();
  run_kernel(info.Env(), fn, [&] { fill_uniform(out, n, key); });
  return info.Env().Undefined();
}

// normal(out, key)
Napi::Value Normal(const Napi::CallbackInfo& info) {
  const char* fn = "normal";
  expect_args(info, 2, fn);
  float* out = f32_arg(info, 0, fn, "out", -1);
  const RngKey key = key_arg(info, 1, fn);
  const int64_t n = (int64_t)info[0].As<Napi::TypedArray>().ElementLength();
  run_kernel(info.Env(), fn, [&] { fill_normal(out, n, key); });
  return info.Env().Undefined();
}

// dropoutForward(x, y, p, key) / dropoutBackward(dy, dx, p, key): same shape in and out
Napi::Value DropoutImpl(const Napi::CallbackInfo& info, const char* fn, const char* in_name, const char* out_name,
                        bool forward) {
  expect_args(info, 4, fn);
  const float* x = f32_arg(info, 0, fn, in_name, -1);
  const int64_t n = (int64_t)info[0].As<Napi::TypedArray>().ElementLength();
  float* y = f32_arg(info, 1, fn, out_name, n);
  const double p = prob_arg(info, 2, fn);
  const RngKey key = key_arg(info, 3, fn);
  run_kernel(info.Env(), fn, [&] {
    if (forward) dropout_forward(x, y, n, p, key);
    else dropout_backward(x, y, n, p, key);
  });
  return info.Env().Undefined();
}
Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  return DropoutImpl(info, "dropoutForward", "x", "y", true);
}
Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  return DropoutImpl(info, "dropoutBackward", "dy", "dx", false);
}

// ---- embeddings ---------------------------------------------------------------------------------

// gather(table, ids, out, V, D)
Napi::Value Gather(const Napi::CallbackInfo& info) {
  const char* fn = "gather";
  Napi::Env env = info.Env();
  expect_args(info, 5, fn);
  const int64_t V = dim_arg(info, 3, fn, "V");
  const int64_t D = dim_arg(info, 4, fn, "D");
  const float* table = f32_arg(info, 0, fn, "table", checked_mul(env, fn, {V, D}));
  const int32_t* ids = i32_arg(info, 1, fn, "ids", -1);
  const int64_t n = (int64_t)info[1].As<Napi::TypedArray>().ElementLength();
  float* out = f32_arg(info, 2, fn, "out", checked_mul(env, fn, {n, D}));
  check_ids(env, ids, n, 0, V, fn, "ids");
  no_overlap(info, fn, 2, "out", 0, "table");
  run_kernel(info.Env(), fn, [&] { embedding_gather(table, ids, out, n, V, D); });
  return env.Undefined();
}

// scatterAdd(dOut, ids, dTable, V, D)
Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  const char* fn = "scatterAdd";
  Napi::Env env = info.Env();
  expect_args(info, 5, fn);
  const int64_t V = dim_arg(info, 3, fn, "V");
  const int64_t D = dim_arg(info, 4, fn, "D");
  const int32_t* ids = i32_arg(info, 1, fn, "ids", -1);
  const int64_t n = (int64_t)info[1].As<Napi::TypedArray>().ElementLength();
  const float* dOut = f32_arg(info, 0, fn, "dOut", checked_mul(env, fn, {n, D}));
  float* dTable = f32_arg(info, 2, fn, "dTable", checked_mul(env, fn, {V, D}));
  check_ids(env, ids, n, 0, V, fn, "ids");
  no_overlap(info, fn, 2, "dTable", 0, "dOut");
  run_kernel(info.Env(), fn, [&] { embedding_scatter_add(dOut, ids, dTable, n, V, D); });
  return env.Undefined();
}

// gradNorm(g, mask, norms, rowmax, argmax, B, L, D)
Napi::Value GradNorm(const Napi::CallbackInfo& info) {
  const char* fn = "gradNorm";
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  const int64_t B = dim_arg(info, 5, fn, "B");
  const int64_t L = dim_arg(info, 6, fn, "L");
  const int64_t D = dim_arg(info, 7, fn, "D");
  const int64_t BL = checked_mul(env, fn, {B, L});
  const float* g = f32_arg(info, 0, fn, "g", checked_mul(env, fn, {B, L, D}));
  const int32_t* mask = i32_arg(info, 1, fn, "mask", BL);
  float* norms = f32_arg(info, 2, fn, "norms", BL);
  float* rowmax = f32_arg(info, 3, fn, "rowmax", B);
  int32_t* argmax = i32_arg(info, 4, fn, "argmax", B);
  check_ids(env, mask, BL, 0, 2, fn, "mask");
  no_overlap(info, fn, 2, "norms", 0, "g");
  no_overlap(info, fn, 2, "norms", 1, "mask");
  run_kernel(info.Env(), fn, [&] { embedding_grad_norm(g, mask, norms, rowmax, argmax, B, L, D); });
  return env.Undefined();
}

// ---- row-wise -----------------------------------------------------------------------------------

// layerNormForward(x, gamma, beta, y, mean, rstd, rows, D, eps)
Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  const char* fn = "layerNormForward";
  Napi::Env env = info.Env();
  expect_args(info, 9, fn);
  const int64_t rows = dim_arg(info, 6, fn, "rows");
  const int64_t D = dim_arg(info, 7, fn, "D");
  const double eps = number_arg(info, 8, fn, "eps");
  if (eps < 0) throw_range(env, std::string(fn) + ": eps must be >= 0");
  if (D == 0 && rows > 0) throw_range(env, std::string(fn) + ": D must be >= 1 when rows > 0");
  const int64_t len = checked_mul(env, fn, {rows, D});
  const float* x = f32_arg(info, 0, fn, "x", len);
  const float* gamma = f32_arg(info, 1, fn, "gamma", D);
  const float* beta = f32_arg(info, 2, fn, "beta", D);
  float* y = f32_arg(info, 3, fn, "y", len);
  float* mean = f32_arg(info, 4, fn, "mean", rows);
  float* rstd = f32_arg(info, 5, fn, "rstd", rows);
  no_overlap(info, fn, 3, "y", 1, "gamma");
  no_overlap(info, fn, 3, "y", 2, "beta");
  run_kernel(info.Env(), fn, [&] { layer_norm_forward(x, gamma, beta, y, mean, rstd, rows, D, (float)eps); });
  return env.Undefined();
}

// layerNormBackward(x, gamma, mean, rstd, dy, dx, dGamma, dBeta, rows, D)
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  const char* fn = "layerNormBackward";
  Napi::Env env = info.Env();
  expect_args(info, 10, fn);
  const int64_t rows = dim_arg(info, 8, fn, "rows");
  const int64_t D = dim_arg(info, 9, fn, "D");
  const int64_t len = checked_mul(env, fn, {rows, D});
  const float* x = f32_arg(info, 0, fn, "x", len);
  const float* gamma = f32_arg(info, 1, fn, "gamma", D);
  const float* mean = f32_arg(info, 2, fn, "mean", rows);
  const float* rstd = f32_arg(info, 3, fn, "rstd", rows);
  const float* dy = f32_arg(info, 4, fn, "dy", len);
  float* dx = f32_arg(info, 5, fn, "dx", len);
  float* dGamma = f32_arg(info, 6, fn, "dGamma", D);
  float* dBeta = f32_arg(info, 7, fn, "dBeta", D);
  // outputs must be disjoint from every input and from each other
  const size_t outs[3] = {5, 6, 7};
  const char* out_names[3] = {"dx", "dGamma", "dBeta"};
  const char* in_names[5] = {"x", "gamma", "mean", "rstd", "dy"};
  for (int o = 0; o < 3; ++o)
    for (size_t i = 0; i < 5; ++i) no_overlap(info, fn, outs[o], out_names[o], i, in_names[i]);
  no_overlap(info, fn, 6, "dGamma", 7, "dBeta");
  no_overlap(info, fn, 5, "dx", 6, "dGamma");
  no_overlap(info, fn, 5, "dx", 7, "dBeta");
  run_kernel(env, fn, [&] { layer_norm_backward(x, gamma, mean, rstd, dy, dx, dGamma, dBeta, rows, D); });
  return env.Undefined();
}

// binary(op, a, b, y, dims, stridesA, stridesB): y = a op b over a broadcast loop (seqfair/binary.h)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const char* fn = "binary";
  expect_args(info, 7, fn);
  const int32_t op = (int32_t)int_arg(info, 0, fn, "op", kBinaryAdd, kBinaryDiv);
  const float* a = f32_arg(info, 1, fn, "a", -1);
  const float* b = f32_arg(info, 2, fn, "b", -1);
  float* y = f32_arg(info, 3, fn, "y", -1);
  auto len = [&](size_t i) { return (int64_t)info[i].As<Napi::TypedArray>().ElementLength(); };
  const BroadcastLoop l = broadcast_loop_arg(info, 4, fn, len(1), len(2), len(3));
  no_overlap(info, fn, 3, "y", 1, "a");
  no_overlap(info, fn, 3, "y", 2, "b");
  run_kernel(info.Env(), fn, [&] { binary_broadcast(op, a, b, y, l); });
  return info.Env().Undefined();
}

// geluForward(x, y)
Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  const char* fn = "geluForward";
  expect_args(info, 2, fn);
  const float* x = f32_arg(info, 0, fn, "x", -1);
  const int64_t n = (int64_t)info[0].As<Napi::TypedArray>().ElementLength();
  float* y = f32_arg(info, 1, fn, "y", n);
  run_kernel(info.Env(), fn, [&] { gelu_forward(x, y, n); });
  return info.Env().Undefined();
}

// geluBackward(x, dy, dx)
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  const char* fn = "geluBackward";
  expect_args(info, 3, fn);
  const float* x = f32_arg(info, 0, fn, "x", -1);
  const int64_t n = (int64_t)info[0].As<Napi::TypedArray>().ElementLength();
  const float* dy = f32_arg(info, 1, fn, "dy", n);
  float* dx = f32_arg(info, 2, fn, "dx", n);
  run_kernel(info.Env(), fn, [&] { gelu_backward(x, dy, dx, n); });
  return info.Env().Undefined();
}

// softmaxForward(x, y, rows, C)
Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) {
  const char* fn = "softmaxForward";
  Napi::Env env = info.Env();
  expect_args(info, 4, fn);
  const int64_t rows = dim_arg(info, 2, fn, "rows");
  const int64_t C = dim_arg(info, 3, fn, "C");
  const int64_t len = checked_mul(env, fn, {rows, C});
  const float* x = f32_arg(info, 0, fn, "x", len);
  float* y = f32_arg(info, 1, fn, "y", len);
  run_kernel(info.Env(), fn, [&] { softmax_forward(x, y, rows, C); });
  return env.Undefined();
}

// softmaxBackward(y, dy, dx, rows, C)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const char* fn = "softmaxBackward";
  Napi::Env env = info.Env();
  expect_args(info, 5, fn);
  const int64_t rows = dim_arg(info, 3, fn, "rows");
  const int64_t C = dim_arg(info, 4, fn, "C");
  const int64_t len = checked_mul(env, fn, {rows, C});
  const float* y = f32_arg(info, 0, fn, "y", len);
  const float* dy = f32_arg(info, 1, fn, "dy", len);
  float* dx = f32_arg(info, 2, fn, "dx", len);
  run_kernel(info.Env(), fn, [&] { softmax_backward(y, dy, dx, rows, C); });
  return env.Undefined();
}

// ---- optimiser ----------------------------------------------------------------------------------

// adamStep(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const char* fn = "adamStep";
  Napi::Env env = info.Env();
  expect_args(info, 11, fn);
  float* param = f32_arg(info, 0, fn, "param", -1);
  const int64_t n = (int64_t)info[0].As<Napi::TypedArray>().ElementLength();
  const float* grad = f32_arg(info, 1, fn, "grad", n);
  float* m = f32_arg(info, 2, fn, "m", n);
  float* v = f32_arg(info, 3, fn, "v", n);
  const double lr = number_arg(info, 4, fn, "lr");
  const double beta1 = number_arg(info, 5, fn, "beta1");
  const double beta2 = number_arg(info, 6, fn, "beta2");
  const double eps = number_arg(info, 7, fn, "eps");
  const double wd = number_arg(info, 8, fn, "weightDecay");
  const bool decoupled = bool_arg(info, 9, fn, "decoupled");
  const int64_t step = int_arg(info, 10, fn, "step", 1, (int64_t(1) << 53) - 1);
  if (!(beta1 >= 0 && beta1 < 1)) throw_range(env, std::string(fn) + ": beta1 must be in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) throw_range(env, std::string(fn) + ": beta2 must be in [0, 1)");
  // param, m and v are updated in place element by element; they must be three distinct buffers
  no_overlap(info, fn, 0, "param", 2, "m");
  no_overlap(info, fn, 0, "param", 3, "v");
  no_overlap(info, fn, 2, "m", 3, "v");
  no_overlap(info, fn, 0, "param", 1, "grad");
  no_overlap(info, fn, 2, "m", 1, "grad");
  no_overlap(info, fn, 3, "v", 1, "grad");
  run_kernel(env, fn, [&] { adam_step(param, grad, m, v, n, lr, beta1, beta2, eps, wd, decoupled, step); });
  return env.Undefined();
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
