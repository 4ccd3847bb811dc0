// The CUDA addon's N-API module (seqfair_cuda.node): device queries that never throw, device
// buffers (handles into a table of device allocations), and one entry point per Backend kernel
// with the CPU addon's name and argument order, device buffer handles in place of typed arrays.
//
// Validation is the CPU addon's: each kernel's argument list is described once, for both addons,
// in kernel_args_core.h / kernel_args_fused.h and parsed here with DeviceBuffers (every handle
// live, of the expected dtype and exact length; an output not the same buffer as an input); ids,
// targets, masks and counts are range-checked by a device kernel (checks.cu) before any kernel
// uses them as addresses. A bad call throws a JS
// TypeError/RangeError and never touches device memory; a CUDA failure becomes a JS Error whose
// message names the call and the CUDA error.
//
// Buffers are freed explicitly (free), by the TypeScript scopes, or by its FinalizationRegistry;
// freeing an unknown or already freed handle is a no-op that returns false.
#include <napi.h>

#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "check.h"
#include "cuda/kernels.h"
#include "cuda/runtime.h"
#include "kernel_args_core.h"
#include "kernel_args_fused.h"

#ifndef SEQFAIR_CUDA_ARCHS
#define SEQFAIR_CUDA_ARCHS "unknown"
#endif

namespace seqfair {
namespace cuda {
namespace {

enum class DType { F32 = 0, I32 = 1 };

struct Buf {
  void* ptr = nullptr;
  int64_t length = 0;
  DType dtype = DType::F32;
  size_t bytes() const { return (size_t)length * 4; }
};

std::mutex g_table_mutex;
std::unordered_map<uint32_t, Buf> g_table;
uint32_t g_next = 1;

const char* dtype_name(DType t) { return t == DType::F32 ? "f32" : "i32"; }
std::string S(int64_t v) { return std::to_string(v); }

// Runs f, turning C++ and CUDA failures into JS errors named after the call.
template <typename F>
Napi::Value guarded(Napi::Env env, const char* fn, F&& f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw_range(env, std::string(fn) + ": out of host memory");
  } catch (const CudaError& e) {
    throw Napi::Error::New(env, std::string(fn) + ": " + e.what());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string(fn) + ": " + e.what());
  }
}

// ---- buffer arguments ------------------------------------------------------------------------

struct BufArg {
  void* ptr;
  uint32_t handle;
};

BufArg buf_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, DType dtype,
               int64_t expected, bool optional = false) {
  Napi::Env env = info.Env();
  if (optional && (info[i].IsNull() || info[i].IsUndefined())) return BufArg{nullptr, 0};
  if (!info[i].IsNumber()) {
    throw_type(env, std::string(fn) + ": expected " + name + " to be a device buffer handle (" + dtype_name(dtype) +
                        ")");
  }
  const double h = info[i].As<Napi::Number>().DoubleValue();
  if (!(h >= 1 && h <= 4294967295.0) || h != (double)(uint32_t)h) {
    throw_type(env, std::string(fn) + ": expected " + name + " to be a device buffer handle, got " +
                        std::to_string(h));
  }
  Buf b;
  {
    std::lock_guard<std::mutex> lock(g_table_mutex);
    auto it = g_table.find((uint32_t)h);
    if (it == g_table.end()) {
      throw_range(env, std::string(fn) + ": " + name + " is a freed (or unknown) device buffer");
    }
    b = it->second;
  }
  if (b.dtype != dtype) {
    throw_type(env, std::string(fn) + ": expected " + name + " to be an " + dtype_name(dtype) +
                        " device buffer, got " + dtype_name(b.dtype));
  }
  if (expected >= 0 && b.length != expected) {
    throw_range(env, std::string(fn) + ": " + name + " must be an " + dtype_name(dtype) + " device buffer of length " +
                         S(expected) + ", got length " + S(b.length));
  }
  return BufArg{b.ptr, (uint32_t)h};
}

// ids on the device: every value in [lo, hi) (or `allowed`), else a RangeError like the CPU's
void check_ids_dev(Napi::Env env, const int32_t* ids, int64_t n, int64_t lo, int64_t hi, const char* fn,
                   const char* name, bool has_allowed = false, int64_t allowed = 0, const char* how = nullptr) {
  int32_t bad = 0;
  const int64_t at = first_out_of_range(ids, n, lo, hi, has_allowed, allowed, &bad);
  if (at < 0) return;
  std::string msg = std::string(fn) + ": " + name + "[" + S(at) + "] = " + S(bad);
  if (how) msg += how;
  else msg += " is out of range [" + S(lo) + ", " + S(hi) + ")";
  throw_range(env, msg);
}

// The CUDA addon's array access (the Call policy of kernel_args.h): an array argument is a live device buffer handle
// of the expected dtype and exact length. Every buffer is its own allocation (there are no views),
// so an output is apart from another array exactly when their handles differ.
class DeviceBuffers : public CallArgs {
 public:
  DeviceBuffers(const Napi::CallbackInfo& info, const char* fn) : CallArgs(info, fn) {}

  float* f32(size_t i, const char* name, int64_t length) const {
    return read<float>(i, name, DType::F32, length, false);
  }
  int32_t* i32(size_t i, const char* name, int64_t length) const {
    return read<int32_t>(i, name, DType::I32, length, false);
  }
  float* f32_or_null(size_t i, const char* name, int64_t length) const {
    return read<float>(i, name, DType::F32, length, true);
  }
  int32_t* i32_or_null(size_t i, const char* name, int64_t length) const {
    return read<int32_t>(i, name, DType::I32, length, true);
  }
  int64_t length(size_t i) const {
    std::lock_guard<std::mutex> lock(g_table_mutex);
    auto it = g_table.find((uint32_t)info[i].As<Napi::Number>().DoubleValue());
    if (it == g_table.end()) throw_range(info.Env(), std::string(fn) + ": a freed (or unknown) device buffer");
    return it->second.length;
  }

  void must_not_overlap(const NamedArg& out, const NamedArg& other) const {
    const Napi::Value a = info[out.index], b = info[other.index];
    if (!a.IsNumber() || !b.IsNumber()) return;  // an absent optional buffer (null)
    if (a.As<Napi::Number>().DoubleValue() == b.As<Napi::Number>().DoubleValue()) {
      throw_range(info.Env(), std::string(fn) + ": " + out.name + " must not overlap " + other.name);
    }
  }

 private:
  template <typename T>
  T* read(size_t i, const char* name, DType dtype, int64_t length, bool optional) const {
    return static_cast<T*>(buf_arg(info, i, fn, name, dtype, length, optional).ptr);
  }
};

// ---- device and buffers ------------------------------------------------------------------------

Napi::Object runtime_object(Napi::Env env) {
  const RuntimeInfo r = query_runtime();
  Napi::Object o = Napi::Object::New(env);
  o.Set("archs", SEQFAIR_CUDA_ARCHS);
#if defined(SEQFAIR_CUDA_EMU)
  o.Set("emulated", true);
#else
  o.Set("emulated", false);
#endif
  o.Set("runtimeVersion", r.runtime_version);
  o.Set("driverVersion", r.driver_version);
  o.Set("deviceCount", r.device_count);
  o.Set("error", r.error.empty() ? env.Null() : Napi::String::New(env, r.error));
  Napi::Array devs = Napi::Array::New(env, r.devices.size());
  for (size_t i = 0; i < r.devices.size(); ++i) {
    const DeviceProps& d = r.devices[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("name", d.name);
    x.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    x.Set("totalMemory", (double)d.total_memory);
    x.Set("multiprocessors", d.multiprocessors);
    x.Set("sharedMemoryPerBlock", (double)d.smem_per_block_optin);
    devs.Set((uint32_t)i, x);
  }
  o.Set("devices", devs);
  return o;
}

// info(): never throws; says why no device is usable
Napi::Value Info(const Napi::CallbackInfo& info) { return runtime_object(info.Env()); }

Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), query_runtime().device_count);
}

// alloc(length, dtype) -> handle
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  const char* fn = "alloc";
  Napi::Env env = info.Env();
  expect_args(info, 2, fn);
  const int64_t n = int_arg(info, 0, fn, "length", 0, int64_t(1) << 40);
  if (!info[1].IsString()) throw_type(env, "alloc: expected dtype to be 'f32' or 'i32'");
  const std::string t = info[1].As<Napi::String>().Utf8Value();
  if (t != "f32" && t != "i32") throw_type(env, "alloc: expected dtype to be 'f32' or 'i32', got '" + t + "'");
  return guarded(env, fn, [&]() -> Napi::Value {
    Buf b;
    b.length = n;
    b.dtype = t == "f32" ? DType::F32 : DType::I32;
    b.ptr = device_alloc(b.bytes());
    std::lock_guard<std::mutex> lock(g_table_mutex);
    while (g_next == 0 || g_table.count(g_next)) ++g_next;
    const uint32_t h = g_next++;
    g_table[h] = b;
    return Napi::Number::New(env, h);
  });
}

// free(handle) -> whether a live buffer was freed
Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  expect_args(info, 1, "free");
  if (!info[0].IsNumber()) throw_type(env, "free: expected a device buffer handle");
  const double h = info[0].As<Napi::Number>().DoubleValue();
  Buf b;
  {
    std::lock_guard<std::mutex> lock(g_table_mutex);
    if (!(h >= 1 && h <= 4294967295.0) || h != (double)(uint32_t)h) return Napi::Boolean::New(env, false);
    auto it = g_table.find((uint32_t)h);
    if (it == g_table.end()) return Napi::Boolean::New(env, false);
    b = it->second;
    g_table.erase(it);
  }
  device_free(b.ptr, b.bytes());
  return Napi::Boolean::New(env, true);
}

// (handle, typed array) pairs of matching dtype and length
void host_array(const Napi::CallbackInfo& info, const char* fn, void** data, int64_t* len, DType* dtype) {
  Napi::Value v = info[1];
  if (!v.IsTypedArray()) throw_type(info.Env(), std::string(fn) + ": expected a Float32Array or Int32Array");
  const auto kind = v.As<Napi::TypedArray>().TypedArrayType();
  if (kind == napi_float32_array) {
    auto a = v.As<Napi::Float32Array>();
    *data = a.Data();
    *len = (int64_t)a.ElementLength();
    *dtype = DType::F32;
  } else if (kind == napi_int32_array) {
    auto a = v.As<Napi::Int32Array>();
    *data = a.Data();
    *len = (int64_t)a.ElementLength();
    *dtype = DType::I32;
  } else {
    throw_type(info.Env(), std::string(fn) + ": expected a Float32Array or Int32Array");
  }
}

Napi::Value CopyImpl(const Napi::CallbackInfo& info, const char* fn, bool to_device) {
  Napi::Env env = info.Env();
  expect_args(info, 2, fn);
  void* data;
  int64_t len;
  DType dt;
  host_array(info, fn, &data, &len, &dt);
  void* dev = buf_arg(info, 0, fn, "buffer", dt, len).ptr;
  return guarded(env, fn, [&]() -> Napi::Value {
    if (to_device) upload(dev, data, (size_t)len * 4);
    else download(data, dev, (size_t)len * 4);
    return env.Undefined();
  });
}
// upload(handle, array) / download(handle, array)
Napi::Value Upload(const Napi::CallbackInfo& info) { return CopyImpl(info, "upload", true); }
Napi::Value Download(const Napi::CallbackInfo& info) { return CopyImpl(info, "download", false); }

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const MemStats s = memory_stats();
  size_t handles;
  {
    std::lock_guard<std::mutex> lock(g_table_mutex);
    handles = g_table.size();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("liveBytes", (double)s.live_bytes);
  o.Set("liveBlocks", (double)s.live_blocks);
  o.Set("liveBuffers", (double)handles);
  o.Set("reservedBytes", (double)s.reserved_bytes);
  o.Set("cachedBytes", (double)s.cached_bytes);
  o.Set("peakLiveBytes", (double)s.peak_live_bytes);
  o.Set("deviceMallocs", (double)s.device_mallocs);
  o.Set("cacheHits", (double)s.cache_hits);
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "emptyCache", [&]() -> Napi::Value {
    empty_cache();
    return info.Env().Undefined();
  });
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "synchronize", [&]() -> Napi::Value {
    synchronize();
    return info.Env().Undefined();
  });
}

// The CUDA kernels behind each Backend method (test/cuda/kernels.test.ts checks that every name
// is compiled into the module's device code for every architecture).
Napi::Value Kernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  static const std::vector<std::pair<const char*, std::vector<const char*>>> table = {
      {"uniform", {"sfk_uniform"}},
      {"normal", {"sfk_normal"}},
      {"gemm", {"sfk_gemm_tiled", "sfk_gemm_splitk_reduce", "sfk_gemm_k0"}},
      {"attentionForward", {"sfk_attention_forward"}},
      {"attentionBackward", {"sfk_attention_backward_delta", "sfk_attention_backward_dq", "sfk_attention_backward_dkdv"}},
      {"gruForward", {"sfk_add_bias_rows", "sfk_gru_forward_cell", "sfk_gemm_tiled"}},
      {"gruBackward", {"sfk_gru_backward_cell", "sfk_gru_hprev", "sfk_column_sums", "sfk_gemm_tiled"}},
      {"projCeForward", {"sfk_proj_ce_init", "sfk_proj_ce_chunk", "sfk_proj_ce_finish", "sfk_gemm_tiled"}},
      {"projCeBackward", {"sfk_proj_ce_grad", "sfk_gemm_tiled"}},
      {"projCeForwardBackward",
       {"sfk_proj_ce_init", "sfk_proj_ce_chunk", "sfk_proj_ce_finish", "sfk_proj_ce_grad", "sfk_gemm_tiled"}},
      {"crossEntropyForward", {"sfk_cross_entropy_forward"}},
      {"crossEntropyBackward", {"sfk_cross_entropy_backward"}},
      {"gather", {"sfk_gather"}},
      {"scatterAdd", {"sfk_scatter_keys", "sfk_bitonic_local", "sfk_bitonic_global", "sfk_bucket_starts",
                      "sfk_scatter_rows"}},
      {"gradNorm", {"sfk_grad_norm_rows", "sfk_grad_norm_argmax"}},
      {"cosineTopk", {"sfk_cosine_normalize", "sfk_cosine_gather_queries", "sfk_topk_reset", "sfk_topk_scan",
                      "sfk_topk_merge", "sfk_gemm_tiled"}},
      {"twoHop", {"sfk_two_hop"}},
      {"dirichlet", {"sfk_dirichlet"}},
      {"neighbourMix", {"sfk_neighbour_mix"}},
      {"neighbourMixBackward", {"sfk_neighbour_mix_keys", "sfk_neighbour_mix_backward", "sfk_bitonic_local",
                                "sfk_bitonic_global", "sfk_bucket_starts"}},
      {"narmAttentionForward", {"sfk_narm_attention_forward"}},
      {"narmAttentionBackward", {"sfk_narm_attention_backward_dq", "sfk_narm_attention_backward_dk",
                                 "sfk_narm_attention_backward_dw"}},
      {"layerNormForward", {"sfk_layer_norm_forward"}},
      {"layerNormBackward", {"sfk_layer_norm_backward_dx", "sfk_layer_norm_backward_params",
                             "sfk_layer_norm_params_reduce"}},
      {"binary", {"sfk_binary"}},
      {"geluForward", {"sfk_gelu_forward"}},
      {"geluBackward", {"sfk_gelu_backward"}},
      {"softmaxForward", {"sfk_softmax_forward"}},
      {"softmaxBackward", {"sfk_softmax_backward"}},
      {"dropoutForward", {"sfk_dropout"}},
      {"dropoutBackward", {"sfk_dropout"}},
      {"adamStep", {"sfk_adam_step"}},
      {"(argument checks)", {"sfk_check_range"}},
  };
  Napi::Object o = Napi::Object::New(env);
  for (const auto& row : table) {
    Napi::Array a = Napi::Array::New(env, row.second.size());
    for (size_t i = 0; i < row.second.size(); ++i) a.Set((uint32_t)i, row.second[i]);
    o.Set(row.first, a);
  }
  return o;
}

// ---- kernels: the argument lists are kernel_args_core.h and kernel_args_fused.h ------------------
// Ids, targets, masks and counts are checked on the device (check_ids_dev) before a kernel uses
// them as addresses. Where these entry points check more than the shared description, they say so:
// the CUDA addon refuses every output that is also another argument, also where the CPU addon lets
// an output be an input (dropout, gelu, softmax, layer norm's y = x, gradNorm's rowmax/argmax).

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const args::Gemm g = args::parse_gemm(DeviceBuffers(info, "gemm"));
  return guarded(info.Env(), "gemm", [&]() -> Napi::Value {
    gemm_contiguous(g.a, g.b, g.c, g.batch, g.m, g.n, g.k, g.transA, g.transB, g.batchedA, g.batchedB, g.accumulate);
    return info.Env().Undefined();
  });
}

Napi::Value RandomFill(const Napi::CallbackInfo& info, const char* fn, bool is_normal) {
  const args::RandomFill r = args::parse_random_fill(DeviceBuffers(info, fn));
  return guarded(info.Env(), fn, [&]() -> Napi::Value {
    if (is_normal) normal(r.out, r.n, r.key);
    else uniform(r.out, r.n, r.key);
    return info.Env().Undefined();
  });
}
Napi::Value Uniform(const Napi::CallbackInfo& info) { return RandomFill(info, "uniform", false); }
Napi::Value Normal(const Napi::CallbackInfo& info) { return RandomFill(info, "normal", true); }

// dropout is its own inverse given the key: one kernel both ways
Napi::Value DropoutImpl(const Napi::CallbackInfo& info, const char* fn, const char* in_name, const char* out_name) {
  const DeviceBuffers call(info, fn);
  const args::Dropout d = args::parse_dropout(call, in_name, out_name);
  outputs_must_not_overlap(call, {{1, out_name}}, {{0, in_name}});  // CUDA only
  return guarded(info.Env(), fn, [&]() -> Napi::Value {
    dropout(d.in, d.out, d.n, d.p, d.key);
    return info.Env().Undefined();
  });
}
Napi::Value DropoutForward(const Napi::CallbackInfo& info) { return DropoutImpl(info, "dropoutForward", "x", "y"); }
Napi::Value DropoutBackward(const Napi::CallbackInfo& info) { return DropoutImpl(info, "dropoutBackward", "dy", "dx"); }

Napi::Value Gather(const Napi::CallbackInfo& info) {
  const char* fn = "gather";
  Napi::Env env = info.Env();
  const args::Gather g = args::parse_gather(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, g.ids, g.n, 0, g.V, fn, "ids");
    gather(g.table, g.ids, g.out, g.n, g.V, g.D);
    return env.Undefined();
  });
}

Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  const char* fn = "scatterAdd";
  Napi::Env env = info.Env();
  const args::ScatterAdd s = args::parse_scatter_add(DeviceBuffers(info, fn));
  // CUDA only: the device sort's keys are id << 32 | row
  if (s.n >= (int64_t(1) << 32)) throw_range(env, "scatterAdd: at most 2^32 - 1 ids per call");
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, s.ids, s.n, 0, s.V, fn, "ids");
    scatter_add(s.dOut, s.ids, s.dTable, s.n, s.V, s.D);
    return env.Undefined();
  });
}

Napi::Value GradNorm(const Napi::CallbackInfo& info) {
  const char* fn = "gradNorm";
  Napi::Env env = info.Env();
  const DeviceBuffers call(info, fn);
  const args::GradNorm a = args::parse_grad_norm(call);
  outputs_must_not_overlap(call, {{2, "norms"}, {3, "rowmax"}, {4, "argmax"}}, {{0, "g"}, {1, "mask"}});  // CUDA only
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, a.mask, a.B * a.L, 0, 2, fn, "mask");
    grad_norm(a.g, a.mask, a.norms, a.rowmax, a.argmax, a.B, a.L, a.D);
    return env.Undefined();
  });
}

Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  const char* fn = "layerNormForward";
  const DeviceBuffers call(info, fn);
  const args::LayerNormForward a = args::parse_layer_norm_forward(call);
  outputs_must_not_overlap(call, {{3, "y"}, {4, "mean"}, {5, "rstd"}},
                           {{0, "x"}, {1, "gamma"}, {2, "beta"}});  // CUDA only
  return guarded(info.Env(), fn, [&]() -> Napi::Value {
    layer_norm_forward(a.x, a.gamma, a.beta, a.y, a.mean, a.rstd, a.rows, a.D, a.eps);
    return info.Env().Undefined();
  });
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  const args::LayerNormBackward a = args::parse_layer_norm_backward(DeviceBuffers(info, "layerNormBackward"));
  return guarded(info.Env(), "layerNormBackward", [&]() -> Napi::Value {
    layer_norm_backward(a.x, a.gamma, a.mean, a.rstd, a.dy, a.dx, a.dGamma, a.dBeta, a.rows, a.D);
    return info.Env().Undefined();
  });
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  const args::Binary b = args::parse_binary(DeviceBuffers(info, "binary"));
  return guarded(info.Env(), "binary", [&]() -> Napi::Value {
    binary_broadcast(b.op, b.a, b.b, b.y, b.loop);
    return info.Env().Undefined();
  });
}

Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  const DeviceBuffers call(info, "geluForward");
  const args::GeluForward g = args::parse_gelu_forward(call);
  outputs_must_not_overlap(call, {{1, "y"}}, {{0, "x"}});  // CUDA only
  return guarded(info.Env(), "geluForward", [&]() -> Napi::Value {
    gelu_forward(g.x, g.y, g.n);
    return info.Env().Undefined();
  });
}

Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  const DeviceBuffers call(info, "geluBackward");
  const args::GeluBackward g = args::parse_gelu_backward(call);
  outputs_must_not_overlap(call, {{2, "dx"}}, {{0, "x"}, {1, "dy"}});  // CUDA only
  return guarded(info.Env(), "geluBackward", [&]() -> Napi::Value {
    gelu_backward(g.x, g.dy, g.dx, g.n);
    return info.Env().Undefined();
  });
}

Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) {
  const DeviceBuffers call(info, "softmaxForward");
  const args::SoftmaxForward s = args::parse_softmax_forward(call);
  outputs_must_not_overlap(call, {{1, "y"}}, {{0, "x"}});  // CUDA only
  return guarded(info.Env(), "softmaxForward", [&]() -> Napi::Value {
    softmax_forward(s.x, s.y, s.rows, s.C);
    return info.Env().Undefined();
  });
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const DeviceBuffers call(info, "softmaxBackward");
  const args::SoftmaxBackward s = args::parse_softmax_backward(call);
  outputs_must_not_overlap(call, {{2, "dx"}}, {{0, "y"}, {1, "dy"}});  // CUDA only
  return guarded(info.Env(), "softmaxBackward", [&]() -> Napi::Value {
    softmax_backward(s.y, s.dy, s.dx, s.rows, s.C);
    return info.Env().Undefined();
  });
}

Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const args::AdamStep a = args::parse_adam_step(DeviceBuffers(info, "adamStep"));
  return guarded(info.Env(), "adamStep", [&]() -> Napi::Value {
    adam_step(a.param, a.grad, a.m, a.v, a.n,
              adam_coeffs(a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.decoupled, (double)a.step));
    return info.Env().Undefined();
  });
}

void check_targets_dev(Napi::Env env, const int32_t* t, int64_t N, int64_t V, int32_t ignore, const char* fn) {
  const std::string how = " is outside [0, " + S(V) + ") and is not the ignore index " + S(ignore);
  check_ids_dev(env, t, N, 0, V, fn, "targets", true, ignore, how.c_str());
}

void check_mask01_dev(Napi::Env env, const int32_t* mask, int64_t n, const char* fn, const char* name) {
  check_ids_dev(env, mask, n, 0, 2, fn, name, false, 0, " must be 0 or 1");
}

Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyForward";
  Napi::Env env = info.Env();
  const args::CrossEntropyForward a = args::parse_cross_entropy_forward(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_targets_dev(env, a.targets, a.N, a.C, a.ignore, fn);
    cross_entropy_forward(a.logits, a.targets, a.weights, a.loss, a.lse, a.N, a.C, a.ignore);
    return env.Undefined();
  });
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyBackward";
  Napi::Env env = info.Env();
  const args::CrossEntropyBackward a = args::parse_cross_entropy_backward(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_targets_dev(env, a.targets, a.N, a.C, a.ignore, fn);
    cross_entropy_backward(a.logits, a.targets, a.weights, a.lse, a.dLoss, a.dLogits, a.N, a.C, a.ignore);
    return env.Undefined();
  });
}

Napi::Value ProjCeForward(const Napi::CallbackInfo& info) {
  const char* fn = "projCeForward";
  Napi::Env env = info.Env();
  const args::ProjCeForward a = args::parse_proj_ce_forward(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_targets_dev(env, a.targets, a.N, a.V, a.ignore, fn);
    proj_ce_forward(a.hidden, a.table, a.targets, a.weights, a.loss, a.lse, a.N, a.D, a.V, a.ignore);
    return env.Undefined();
  });
}

Napi::Value ProjCeBackward(const Napi::CallbackInfo& info) {
  const char* fn = "projCeBackward";
  Napi::Env env = info.Env();
  const args::ProjCeBackward a = args::parse_proj_ce_backward(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_targets_dev(env, a.targets, a.N, a.V, a.ignore, fn);
    proj_ce_backward(a.hidden, a.table, a.targets, a.weights, a.lse, a.dLoss, a.dHidden, a.dTable, a.N, a.D, a.V,
                     a.ignore);
    return env.Undefined();
  });
}

// the device's shared memory per block bounds the head size
void check_attn_smem(Napi::Env env, const char* fn, int64_t dh) {
  const size_t need = attention_smem_bytes(dh);
  const size_t have = (size_t)device_props().smem_per_block_optin;
  if (need > have) {
    throw_range(env, std::string(fn) + ": head size dh = " + S(dh) + " needs " + S((int64_t)need) +
                         " bytes of shared memory per block; this GPU allows " + S((int64_t)have));
  }
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionForward";
  Napi::Env env = info.Env();
  const args::AttentionForward a = args::parse_attention_forward(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_attn_smem(env, fn, a.d.dh);
    check_mask01_dev(env, a.keyMask, a.d.B * a.d.L, fn, "keyMask");
    attention_forward(a.q, a.k, a.v, a.keyMask, a.out, a.lse, a.d);
    return env.Undefined();
  });
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionBackward";
  Napi::Env env = info.Env();
  const args::AttentionBackward a = args::parse_attention_backward(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_attn_smem(env, fn, a.d.dh);
    check_mask01_dev(env, a.keyMask, a.d.B * a.d.L, fn, "keyMask");
    attention_backward(a.q, a.k, a.v, a.keyMask, a.out, a.lse, a.dOut, a.dq, a.dk, a.dv, a.d);
    return env.Undefined();
  });
}

Napi::Value GruForward(const Napi::CallbackInfo& info) {
  const args::GruForward a = args::parse_gru_forward(DeviceBuffers(info, "gruForward"));
  return guarded(info.Env(), "gruForward", [&]() -> Napi::Value {
    gru_forward(a.x, a.h0, a.wIh, a.wHh, a.bIh, a.bHh, a.out, a.cache, a.B, a.L, a.I, a.H);
    return info.Env().Undefined();
  });
}

Napi::Value GruBackward(const Napi::CallbackInfo& info) {
  const args::GruBackward a = args::parse_gru_backward(DeviceBuffers(info, "gruBackward"));
  return guarded(info.Env(), "gruBackward", [&]() -> Napi::Value {
    gru_backward(a.x, a.h0, a.wIh, a.wHh, a.out, a.cache, a.dOut, a.dx, a.dh0, a.dWIh, a.dWHh, a.dBIh, a.dBHh, a.B,
                 a.L, a.I, a.H);
    return info.Env().Undefined();
  });
}

Napi::Value CosineTopk(const Napi::CallbackInfo& info) {
  const char* fn = "cosineTopk";
  Napi::Env env = info.Env();
  const args::CosineTopk a = args::parse_cosine_topk(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    if (a.queries) check_ids_dev(env, a.queries, a.Q, 0, a.N, fn, "queries");
    cosine_topk(a.x, a.queries, a.Q, a.indices, a.similarities, a.N, a.D, a.k);
    return env.Undefined();
  });
}

Napi::Value TwoHop(const Napi::CallbackInfo& info) {
  const char* fn = "twoHop";
  Napi::Env env = info.Env();
  const args::TwoHop a = args::parse_two_hop(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, a.indices, a.N * a.k, 0, a.N, fn, "indices");
    two_hop(a.indices, a.twoHop, a.count, a.N, a.k);
    return env.Undefined();
  });
}

Napi::Value Dirichlet(const Napi::CallbackInfo& info) {
  const char* fn = "dirichlet";
  Napi::Env env = info.Env();
  const args::Dirichlet a = args::parse_dirichlet(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    const std::string how = " is outside [1, " + S(a.K) + "]";
    check_ids_dev(env, a.counts, a.rows, 1, a.K + 1, fn, "counts", false, 0, how.c_str());
    dirichlet(a.counts, a.out, a.rows, a.K, a.alpha, a.key);
    return env.Undefined();
  });
}

void check_neighbour_ids_dev(Napi::Env env, const int32_t* ids, int64_t n, int64_t V, const char* fn) {
  const std::string how = " is outside [0, " + S(V) + ") and is not -1 (no neighbour)";
  check_ids_dev(env, ids, n, 0, V, fn, "ids", true, -1, how.c_str());
}

Napi::Value NeighbourMix(const Napi::CallbackInfo& info) {
  const char* fn = "neighbourMix";
  Napi::Env env = info.Env();
  const args::NeighbourMix a = args::parse_neighbour_mix(DeviceBuffers(info, fn), false);
  return guarded(env, fn, [&]() -> Napi::Value {
    check_neighbour_ids_dev(env, a.ids, a.R * a.K, a.V, fn);
    neighbour_mix(a.rows, a.ids, a.w, a.out, a.R, a.K, a.V, a.D);
    return env.Undefined();
  });
}

Napi::Value NeighbourMixBackward(const Napi::CallbackInfo& info) {
  const char* fn = "neighbourMixBackward";
  Napi::Env env = info.Env();
  const args::NeighbourMix a = args::parse_neighbour_mix(DeviceBuffers(info, fn), true);
  // CUDA only: the device sort's keys are id << 32 | slot
  if (a.R * a.K >= (int64_t(1) << 32)) throw_range(env, "neighbourMixBackward: R·K must be below 2^32");
  return guarded(env, fn, [&]() -> Napi::Value {
    check_neighbour_ids_dev(env, a.ids, a.R * a.K, a.V, fn);
    neighbour_mix_backward(a.rows, a.ids, a.w, a.out, a.R, a.K, a.V, a.D);
    return env.Undefined();
  });
}

Napi::Value NarmAttentionForward(const Napi::CallbackInfo& info) {
  const char* fn = "narmAttentionForward";
  Napi::Env env = info.Env();
  const args::NarmAttentionForward a = args::parse_narm_attention_forward(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_mask01_dev(env, a.mask, a.B * a.L, fn, "mask");
    narm_attention_forward(a.q, a.k, a.w, a.mask, a.alpha, a.B, a.T, a.L, a.H);
    return env.Undefined();
  });
}

Napi::Value NarmAttentionBackward(const Napi::CallbackInfo& info) {
  const char* fn = "narmAttentionBackward";
  Napi::Env env = info.Env();
  const args::NarmAttentionBackward a = args::parse_narm_attention_backward(DeviceBuffers(info, fn));
  return guarded(env, fn, [&]() -> Napi::Value {
    check_mask01_dev(env, a.mask, a.B * a.L, fn, "mask");
    narm_attention_backward(a.q, a.k, a.w, a.mask, a.dAlpha, a.dq, a.dk, a.dw, a.B, a.T, a.L, a.H);
    return env.Undefined();
  });
}

}  // namespace

#if defined(SEQFAIR_CUDA_EMU)
void register_emu_selftest(Napi::Env env, Napi::Object exports);  // test/cuda/emu/selftest.cc
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  const Entry entries[] = {
      {"info", Info},
      {"deviceCount", DeviceCount},
      {"kernels", Kernels},
      {"alloc", Alloc},
      {"free", Free},
      {"upload", Upload},
      {"download", Download},
      {"memory", Memory},
      {"emptyCache", EmptyCache},
      {"synchronize", Synchronize},
      {"gemm", Gemm},
      {"uniform", Uniform},
      {"normal", Normal},
      {"dropoutForward", DropoutForward},
      {"dropoutBackward", DropoutBackward},
      {"gather", Gather},
      {"scatterAdd", ScatterAdd},
      {"gradNorm", GradNorm},
      {"layerNormForward", LayerNormForward},
      {"layerNormBackward", LayerNormBackward},
      {"binary", Binary},
      {"geluForward", GeluForward},
      {"geluBackward", GeluBackward},
      {"softmaxForward", SoftmaxForward},
      {"softmaxBackward", SoftmaxBackward},
      {"adamStep", AdamStep},
      {"crossEntropyForward", CrossEntropyForward},
      {"crossEntropyBackward", CrossEntropyBackward},
      {"projCeForward", ProjCeForward},
      {"projCeBackward", ProjCeBackward},
      {"attentionForward", AttentionForward},
      {"attentionBackward", AttentionBackward},
      {"gruForward", GruForward},
      {"gruBackward", GruBackward},
      {"cosineTopk", CosineTopk},
      {"twoHop", TwoHop},
      {"dirichlet", Dirichlet},
      {"neighbourMix", NeighbourMix},
      {"neighbourMixBackward", NeighbourMixBackward},
      {"narmAttentionForward", NarmAttentionForward},
      {"narmAttentionBackward", NarmAttentionBackward},
  };
  for (const Entry& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
#if defined(SEQFAIR_CUDA_EMU)
  register_emu_selftest(env, exports);
#endif
  return exports;
}

}  // namespace cuda
}  // namespace seqfair

namespace {
Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return seqfair::cuda::Init(env, exports); }
}  // namespace

NODE_API_MODULE(seqfair_cuda, InitModule)
