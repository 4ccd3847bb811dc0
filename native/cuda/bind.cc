// The CUDA addon's N-API module (seqfair_cuda.node): device queries that never throw, device
// buffers (handles into a table of device allocations), and one entry point per Backend kernel
// with the CPU addon's name and argument order, device buffer handles in place of typed arrays.
//
// Validation is the CPU addon's (native/check.h helpers, same messages) plus what device memory
// needs: every handle must be live and of the expected dtype and exact length; an output must not
// be the same buffer as an input; ids, targets, masks and counts are range-checked by a device
// kernel (checks.cu) before any kernel uses them as addresses. A bad call throws a JS
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

#ifndef SEQFAIR_CUDA_ARCHS
#define SEQFAIR_CUDA_ARCHS "unknown"
#endif

namespace seqfair {
namespace cuda {
namespace {

constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;

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

int64_t dim_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  return int_arg(info, i, fn, name, 0, kMaxDim);
}

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

float* f32b(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t expected) {
  return static_cast<float*>(buf_arg(info, i, fn, name, DType::F32, expected).ptr);
}
int32_t* i32b(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t expected) {
  return static_cast<int32_t*>(buf_arg(info, i, fn, name, DType::I32, expected).ptr);
}
int64_t buf_length(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, DType dtype) {
  buf_arg(info, i, fn, name, dtype, -1);
  std::lock_guard<std::mutex> lock(g_table_mutex);
  return g_table[(uint32_t)info[i].As<Napi::Number>().DoubleValue()].length;
}

// outputs (index, name) must be buffers distinct from every other buffer argument
void distinct(const Napi::CallbackInfo& info, const char* fn,
              std::initializer_list<std::pair<size_t, const char*>> outs,
              std::initializer_list<std::pair<size_t, const char*>> all) {
  for (const auto& o : outs) {
    if (!info[o.first].IsNumber()) continue;
    const double ho = info[o.first].As<Napi::Number>().DoubleValue();
    for (const auto& a : all) {
      if (a.first == o.first || !info[a.first].IsNumber()) continue;
      if (info[a.first].As<Napi::Number>().DoubleValue() == ho) {
        throw_range(info.Env(), std::string(fn) + ": " + o.second + " must not overlap " + a.second);
      }
    }
  }
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

double prob_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const double p = number_arg(info, i, fn, "p");
  if (!(p >= 0.0 && p < 1.0)) throw_range(info.Env(), std::string(fn) + ": p must be in [0, 1), got " + std::to_string(p));
  return p;
}

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

// ---- core kernels (argument order of native/bind_core.cc) --------------------------------------

// gemm(a, b, c, batch, m, n, k, transA, transB, batchedA, batchedB, accumulate)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* fn = "gemm";
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  const int64_t batch = dim_arg(info, 3, fn, "batch"), m = dim_arg(info, 4, fn, "m");
  const int64_t n = dim_arg(info, 5, fn, "n"), k = dim_arg(info, 6, fn, "k");
  const bool ta = bool_arg(info, 7, fn, "transA"), tb = bool_arg(info, 8, fn, "transB");
  const bool ba = bool_arg(info, 9, fn, "batchedA"), bb = bool_arg(info, 10, fn, "batchedB");
  const bool acc = bool_arg(info, 11, fn, "accumulate");
  const float* a = f32b(info, 0, fn, "a", checked_mul(env, fn, {ba ? batch : 1, m, k}));
  const float* b = f32b(info, 1, fn, "b", checked_mul(env, fn, {bb ? batch : 1, k, n}));
  float* c = f32b(info, 2, fn, "c", checked_mul(env, fn, {batch, m, n}));
  distinct(info, fn, {{2, "c"}}, {{0, "a"}, {1, "b"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    gemm_contiguous(a, b, c, batch, m, n, k, ta, tb, ba, bb, acc);
    return env.Undefined();
  });
}

Napi::Value RandomFill(const Napi::CallbackInfo& info, const char* fn, bool is_normal) {
  Napi::Env env = info.Env();
  expect_args(info, 2, fn);
  const int64_t n = buf_length(info, 0, fn, "out", DType::F32);
  float* out = f32b(info, 0, fn, "out", n);
  const RngKey key = key_arg(info, 1, fn);
  return guarded(env, fn, [&]() -> Napi::Value {
    if (is_normal) normal(out, n, key);
    else uniform(out, n, key);
    return env.Undefined();
  });
}
Napi::Value Uniform(const Napi::CallbackInfo& info) { return RandomFill(info, "uniform", false); }
Napi::Value Normal(const Napi::CallbackInfo& info) { return RandomFill(info, "normal", true); }

// dropoutForward(x, y, p, key) / dropoutBackward(dy, dx, p, key)
Napi::Value DropoutImpl(const Napi::CallbackInfo& info, const char* fn, const char* in_name, const char* out_name) {
  Napi::Env env = info.Env();
  expect_args(info, 4, fn);
  const int64_t n = buf_length(info, 0, fn, in_name, DType::F32);
  const float* x = f32b(info, 0, fn, in_name, n);
  float* y = f32b(info, 1, fn, out_name, n);
  const double p = prob_arg(info, 2, fn);
  const RngKey key = key_arg(info, 3, fn);
  distinct(info, fn, {{1, out_name}}, {{0, in_name}});
  return guarded(env, fn, [&]() -> Napi::Value {
    dropout(x, y, n, p, key);
    return env.Undefined();
  });
}
Napi::Value DropoutForward(const Napi::CallbackInfo& info) { return DropoutImpl(info, "dropoutForward", "x", "y"); }
Napi::Value DropoutBackward(const Napi::CallbackInfo& info) { return DropoutImpl(info, "dropoutBackward", "dy", "dx"); }

// gather(table, ids, out, V, D)
Napi::Value Gather(const Napi::CallbackInfo& info) {
  const char* fn = "gather";
  Napi::Env env = info.Env();
  expect_args(info, 5, fn);
  const int64_t V = dim_arg(info, 3, fn, "V"), D = dim_arg(info, 4, fn, "D");
  const float* table = f32b(info, 0, fn, "table", checked_mul(env, fn, {V, D}));
  const int64_t n = buf_length(info, 1, fn, "ids", DType::I32);
  const int32_t* ids = i32b(info, 1, fn, "ids", n);
  float* out = f32b(info, 2, fn, "out", checked_mul(env, fn, {n, D}));
  distinct(info, fn, {{2, "out"}}, {{0, "table"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, ids, n, 0, V, fn, "ids");
    gather(table, ids, out, n, V, D);
    return env.Undefined();
  });
}

// scatterAdd(dOut, ids, dTable, V, D)
Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  const char* fn = "scatterAdd";
  Napi::Env env = info.Env();
  expect_args(info, 5, fn);
  const int64_t V = dim_arg(info, 3, fn, "V"), D = dim_arg(info, 4, fn, "D");
  const int64_t n = buf_length(info, 1, fn, "ids", DType::I32);
  if (n >= (int64_t(1) << 32)) throw_range(env, "scatterAdd: at most 2^32 - 1 ids per call");
  const int32_t* ids = i32b(info, 1, fn, "ids", n);
  const float* dout = f32b(info, 0, fn, "dOut", checked_mul(env, fn, {n, D}));
  float* dtable = f32b(info, 2, fn, "dTable", checked_mul(env, fn, {V, D}));
  distinct(info, fn, {{2, "dTable"}}, {{0, "dOut"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, ids, n, 0, V, fn, "ids");
    scatter_add(dout, ids, dtable, n, V, D);
    return env.Undefined();
  });
}

// gradNorm(g, mask, norms, rowmax, argmax, B, L, D)
Napi::Value GradNorm(const Napi::CallbackInfo& info) {
  const char* fn = "gradNorm";
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  const int64_t B = dim_arg(info, 5, fn, "B"), L = dim_arg(info, 6, fn, "L"), D = dim_arg(info, 7, fn, "D");
  const int64_t BL = checked_mul(env, fn, {B, L});
  const float* g = f32b(info, 0, fn, "g", checked_mul(env, fn, {B, L, D}));
  const int32_t* mask = i32b(info, 1, fn, "mask", BL);
  float* norms = f32b(info, 2, fn, "norms", BL);
  float* rowmax = f32b(info, 3, fn, "rowmax", B);
  int32_t* argmax = i32b(info, 4, fn, "argmax", B);
  distinct(info, fn, {{2, "norms"}, {3, "rowmax"}, {4, "argmax"}}, {{0, "g"}, {1, "mask"}, {2, "norms"}, {3, "rowmax"}, {4, "argmax"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, mask, BL, 0, 2, fn, "mask");
    grad_norm(g, mask, norms, rowmax, argmax, B, L, D);
    return env.Undefined();
  });
}

// layerNormForward(x, gamma, beta, y, mean, rstd, rows, D, eps)
Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  const char* fn = "layerNormForward";
  Napi::Env env = info.Env();
  expect_args(info, 9, fn);
  const int64_t rows = dim_arg(info, 6, fn, "rows"), D = dim_arg(info, 7, fn, "D");
  const double eps = number_arg(info, 8, fn, "eps");
  if (eps < 0) throw_range(env, std::string(fn) + ": eps must be >= 0");
  if (D == 0 && rows > 0) throw_range(env, std::string(fn) + ": D must be >= 1 when rows > 0");
  const int64_t len = checked_mul(env, fn, {rows, D});
  const float* x = f32b(info, 0, fn, "x", len);
  const float* gamma = f32b(info, 1, fn, "gamma", D);
  const float* beta = f32b(info, 2, fn, "beta", D);
  float* y = f32b(info, 3, fn, "y", len);
  float* mean = f32b(info, 4, fn, "mean", rows);
  float* rstd = f32b(info, 5, fn, "rstd", rows);
  distinct(info, fn, {{3, "y"}, {4, "mean"}, {5, "rstd"}},
           {{0, "x"}, {1, "gamma"}, {2, "beta"}, {3, "y"}, {4, "mean"}, {5, "rstd"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    layer_norm_forward(x, gamma, beta, y, mean, rstd, rows, D, (float)eps);
    return env.Undefined();
  });
}

// layerNormBackward(x, gamma, mean, rstd, dy, dx, dGamma, dBeta, rows, D)
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  const char* fn = "layerNormBackward";
  Napi::Env env = info.Env();
  expect_args(info, 10, fn);
  const int64_t rows = dim_arg(info, 8, fn, "rows"), D = dim_arg(info, 9, fn, "D");
  const int64_t len = checked_mul(env, fn, {rows, D});
  const float* x = f32b(info, 0, fn, "x", len);
  const float* gamma = f32b(info, 1, fn, "gamma", D);
  const float* mean = f32b(info, 2, fn, "mean", rows);
  const float* rstd = f32b(info, 3, fn, "rstd", rows);
  const float* dy = f32b(info, 4, fn, "dy", len);
  float* dx = f32b(info, 5, fn, "dx", len);
  float* dgamma = f32b(info, 6, fn, "dGamma", D);
  float* dbeta = f32b(info, 7, fn, "dBeta", D);
  distinct(info, fn, {{5, "dx"}, {6, "dGamma"}, {7, "dBeta"}},
           {{0, "x"}, {1, "gamma"}, {2, "mean"}, {3, "rstd"}, {4, "dy"}, {5, "dx"}, {6, "dGamma"}, {7, "dBeta"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    layer_norm_backward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, D);
    return env.Undefined();
  });
}

// binary(op, a, b, y, dims, stridesA, stridesB)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const char* fn = "binary";
  Napi::Env env = info.Env();
  expect_args(info, 7, fn);
  const int32_t op = (int32_t)int_arg(info, 0, fn, "op", kBinaryAdd, kBinaryDiv);
  const int64_t na = buf_length(info, 1, fn, "a", DType::F32), nb = buf_length(info, 2, fn, "b", DType::F32);
  const int64_t ny = buf_length(info, 3, fn, "y", DType::F32);
  const float* a = f32b(info, 1, fn, "a", na);
  const float* b = f32b(info, 2, fn, "b", nb);
  float* y = f32b(info, 3, fn, "y", ny);
  const BroadcastLoop l = broadcast_loop_arg(info, 4, fn, na, nb, ny);
  distinct(info, fn, {{3, "y"}}, {{1, "a"}, {2, "b"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    binary_broadcast(op, a, b, y, l);
    return env.Undefined();
  });
}

// geluForward(x, y)
Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  const char* fn = "geluForward";
  Napi::Env env = info.Env();
  expect_args(info, 2, fn);
  const int64_t n = buf_length(info, 0, fn, "x", DType::F32);
  const float* x = f32b(info, 0, fn, "x", n);
  float* y = f32b(info, 1, fn, "y", n);
  distinct(info, fn, {{1, "y"}}, {{0, "x"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    gelu_forward(x, y, n);
    return env.Undefined();
  });
}

// geluBackward(x, dy, dx)
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  const char* fn = "geluBackward";
  Napi::Env env = info.Env();
  expect_args(info, 3, fn);
  const int64_t n = buf_length(info, 0, fn, "x", DType::F32);
  const float* x = f32b(info, 0, fn, "x", n);
  const float* dy = f32b(info, 1, fn, "dy", n);
  float* dx = f32b(info, 2, fn, "dx", n);
  distinct(info, fn, {{2, "dx"}}, {{0, "x"}, {1, "dy"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    gelu_backward(x, dy, dx, n);
    return env.Undefined();
  });
}

// softmaxForward(x, y, rows, C)
Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) {
  const char* fn = "softmaxForward";
  Napi::Env env = info.Env();
  expect_args(info, 4, fn);
  const int64_t rows = dim_arg(info, 2, fn, "rows"), C = dim_arg(info, 3, fn, "C");
  const int64_t len = checked_mul(env, fn, {rows, C});
  const float* x = f32b(info, 0, fn, "x", len);
  float* y = f32b(info, 1, fn, "y", len);
  distinct(info, fn, {{1, "y"}}, {{0, "x"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    softmax_forward(x, y, rows, C);
    return env.Undefined();
  });
}

// softmaxBackward(y, dy, dx, rows, C)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const char* fn = "softmaxBackward";
  Napi::Env env = info.Env();
  expect_args(info, 5, fn);
  const int64_t rows = dim_arg(info, 3, fn, "rows"), C = dim_arg(info, 4, fn, "C");
  const int64_t len = checked_mul(env, fn, {rows, C});
  const float* y = f32b(info, 0, fn, "y", len);
  const float* dy = f32b(info, 1, fn, "dy", len);
  float* dx = f32b(info, 2, fn, "dx", len);
  distinct(info, fn, {{2, "dx"}}, {{0, "y"}, {1, "dy"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    softmax_backward(y, dy, dx, rows, C);
    return env.Undefined();
  });
}

// adamStep(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const char* fn = "adamStep";
  Napi::Env env = info.Env();
  expect_args(info, 11, fn);
  const int64_t n = buf_length(info, 0, fn, "param", DType::F32);
  float* param = f32b(info, 0, fn, "param", n);
  const float* grad = f32b(info, 1, fn, "grad", n);
  float* m = f32b(info, 2, fn, "m", n);
  float* v = f32b(info, 3, fn, "v", n);
  const double lr = number_arg(info, 4, fn, "lr");
  const double beta1 = number_arg(info, 5, fn, "beta1");
  const double beta2 = number_arg(info, 6, fn, "beta2");
  const double eps = number_arg(info, 7, fn, "eps");
  const double wd = number_arg(info, 8, fn, "weightDecay");
  const bool decoupled = bool_arg(info, 9, fn, "decoupled");
  const int64_t step = int_arg(info, 10, fn, "step", 1, (int64_t(1) << 53) - 1);
  if (!(beta1 >= 0 && beta1 < 1)) throw_range(env, std::string(fn) + ": beta1 must be in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) throw_range(env, std::string(fn) + ": beta2 must be in [0, 1)");
  distinct(info, fn, {{0, "param"}, {2, "m"}, {3, "v"}}, {{0, "param"}, {1, "grad"}, {2, "m"}, {3, "v"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    adam_step(param, grad, m, v, n, adam_coeffs(lr, beta1, beta2, eps, wd, decoupled, (double)step));
    return env.Undefined();
  });
}

// ---- fused kernels (argument order of native/bind_fused.cc) -------------------------------------

int32_t ignore_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return (int32_t)int_arg(info, i, fn, "ignoreIndex", INT32_MIN, INT32_MAX);
}

void check_targets_dev(Napi::Env env, const int32_t* t, int64_t N, int64_t V, int32_t ignore, const char* fn) {
  const std::string how = " is outside [0, " + S(V) + ") and is not the ignore index " + S(ignore);
  check_ids_dev(env, t, N, 0, V, fn, "targets", true, ignore, how.c_str());
}

// crossEntropyForward(logits, targets, weights, loss, lse, N, C, ignoreIndex)
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyForward";
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  const int64_t N = dim_arg(info, 5, fn, "N"), C = dim_arg(info, 6, fn, "C");
  const int32_t ignore = ignore_arg(info, 7, fn);
  const float* logits = f32b(info, 0, fn, "logits", checked_mul(env, fn, {N, C}));
  const int32_t* targets = i32b(info, 1, fn, "targets", N);
  const float* weights = static_cast<float*>(buf_arg(info, 2, fn, "weights", DType::F32, N, true).ptr);
  float* loss = f32b(info, 3, fn, "loss", N);
  float* lse = f32b(info, 4, fn, "lse", N);
  distinct(info, fn, {{3, "loss"}, {4, "lse"}}, {{0, "logits"}, {1, "targets"}, {2, "weights"}, {3, "loss"}, {4, "lse"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_targets_dev(env, targets, N, C, ignore, fn);
    cross_entropy_forward(logits, targets, weights, loss, lse, N, C, ignore);
    return env.Undefined();
  });
}

// crossEntropyBackward(logits, targets, weights, lse, dLoss, dLogits, N, C, ignoreIndex)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyBackward";
  Napi::Env env = info.Env();
  expect_args(info, 9, fn);
  const int64_t N = dim_arg(info, 6, fn, "N"), C = dim_arg(info, 7, fn, "C");
  const int32_t ignore = ignore_arg(info, 8, fn);
  const int64_t NC = checked_mul(env, fn, {N, C});
  const float* logits = f32b(info, 0, fn, "logits", NC);
  const int32_t* targets = i32b(info, 1, fn, "targets", N);
  const float* weights = static_cast<float*>(buf_arg(info, 2, fn, "weights", DType::F32, N, true).ptr);
  const float* lse = f32b(info, 3, fn, "lse", N);
  const float* dloss = f32b(info, 4, fn, "dLoss", N);
  float* dlogits = f32b(info, 5, fn, "dLogits", NC);
  distinct(info, fn, {{5, "dLogits"}}, {{0, "logits"}, {1, "targets"}, {2, "weights"}, {3, "lse"}, {4, "dLoss"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_targets_dev(env, targets, N, C, ignore, fn);
    cross_entropy_backward(logits, targets, weights, lse, dloss, dlogits, N, C, ignore);
    return env.Undefined();
  });
}

// projCeForward(hidden, table, targets, weights, loss, lse, N, D, V, ignoreIndex)
Napi::Value ProjCeForward(const Napi::CallbackInfo& info) {
  const char* fn = "projCeForward";
  Napi::Env env = info.Env();
  expect_args(info, 10, fn);
  const int64_t N = dim_arg(info, 6, fn, "N"), D = dim_arg(info, 7, fn, "D"), V = dim_arg(info, 8, fn, "V");
  const int32_t ignore = ignore_arg(info, 9, fn);
  const float* hidden = f32b(info, 0, fn, "hidden", checked_mul(env, fn, {N, D}));
  const float* table = f32b(info, 1, fn, "table", checked_mul(env, fn, {V, D}));
  const int32_t* targets = i32b(info, 2, fn, "targets", N);
  const float* weights = static_cast<float*>(buf_arg(info, 3, fn, "weights", DType::F32, N, true).ptr);
  float* loss = f32b(info, 4, fn, "loss", N);
  float* lse = f32b(info, 5, fn, "lse", N);
  distinct(info, fn, {{4, "loss"}, {5, "lse"}},
           {{0, "hidden"}, {1, "table"}, {2, "targets"}, {3, "weights"}, {4, "loss"}, {5, "lse"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_targets_dev(env, targets, N, V, ignore, fn);
    proj_ce_forward(hidden, table, targets, weights, loss, lse, N, D, V, ignore);
    return env.Undefined();
  });
}

// projCeBackward(hidden, table, targets, weights, lse, dLoss, dHidden|null, dTable|null, N, D, V, ignoreIndex)
Napi::Value ProjCeBackward(const Napi::CallbackInfo& info) {
  const char* fn = "projCeBackward";
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  const int64_t N = dim_arg(info, 8, fn, "N"), D = dim_arg(info, 9, fn, "D"), V = dim_arg(info, 10, fn, "V");
  const int32_t ignore = ignore_arg(info, 11, fn);
  const int64_t ND = checked_mul(env, fn, {N, D}), VD = checked_mul(env, fn, {V, D});
  const float* hidden = f32b(info, 0, fn, "hidden", ND);
  const float* table = f32b(info, 1, fn, "table", VD);
  const int32_t* targets = i32b(info, 2, fn, "targets", N);
  const float* weights = static_cast<float*>(buf_arg(info, 3, fn, "weights", DType::F32, N, true).ptr);
  const float* lse = f32b(info, 4, fn, "lse", N);
  const float* dloss = f32b(info, 5, fn, "dLoss", N);
  // either gradient may be null: not wanted (A-FSR's first pass needs dHidden only)
  float* dhidden = static_cast<float*>(buf_arg(info, 6, fn, "dHidden", DType::F32, ND, true).ptr);
  float* dtable = static_cast<float*>(buf_arg(info, 7, fn, "dTable", DType::F32, VD, true).ptr);
  distinct(info, fn, {{6, "dHidden"}, {7, "dTable"}},
           {{0, "hidden"}, {1, "table"}, {2, "targets"}, {3, "weights"}, {4, "lse"}, {5, "dLoss"}, {6, "dHidden"},
            {7, "dTable"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_targets_dev(env, targets, N, V, ignore, fn);
    proj_ce_backward(hidden, table, targets, weights, lse, dloss, dhidden, dtable, N, D, V, ignore);
    return env.Undefined();
  });
}

// reads B, H, L, dh, causal, scale, dropout, key, interleaved from info[first..first+8]
AttnArgs attn_dims(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  Napi::Env env = info.Env();
  AttnArgs d;
  d.B = dim_arg(info, first, fn, "B");
  d.H = dim_arg(info, first + 1, fn, "H");
  d.L = dim_arg(info, first + 2, fn, "L");
  d.dh = dim_arg(info, first + 3, fn, "dh");
  d.causal = bool_arg(info, first + 4, fn, "causal");
  d.scale = (float)number_arg(info, first + 5, fn, "scale");
  d.dropout = number_arg(info, first + 6, fn, "dropout");
  if (!(d.dropout >= 0.0 && d.dropout < 1.0)) {
    throw_range(env, std::string(fn) + ": dropout probability must be in [0, 1), got " + std::to_string(d.dropout));
  }
  if (d.dropout > 0.0) {
    if (info[first + 7].IsNull() || info[first + 7].IsUndefined()) {
      throw_range(env, std::string(fn) + ": dropout " + std::to_string(d.dropout) + " > 0 needs an rng key, got null");
    }
    d.key = key_arg(info, first + 7, fn);
  }
  d.interleaved = bool_arg(info, first + 8, fn, "interleaved");
  return d;
}

void check_attn_smem(Napi::Env env, const char* fn, int64_t dh) {
  const size_t need = attention_smem_bytes(dh);
  const size_t have = (size_t)device_props().smem_per_block_optin;
  if (need > have) {
    throw_range(env, std::string(fn) + ": head size dh = " + S(dh) + " needs " + S((int64_t)need) +
                         " bytes of shared memory per block; this GPU allows " + S((int64_t)have));
  }
}

// attentionForward(q, k, v, keyMask, out, lse, B, H, L, dh, causal, scale, dropout, key, interleaved)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionForward";
  Napi::Env env = info.Env();
  expect_args(info, 15, fn);
  const AttnArgs d = attn_dims(info, 6, fn);
  const int64_t n = checked_mul(env, fn, {d.B, d.H, d.L, d.dh});
  const float* q = f32b(info, 0, fn, "q", n);
  const float* k = f32b(info, 1, fn, "k", n);
  const float* v = f32b(info, 2, fn, "v", n);
  const int32_t* mask = i32b(info, 3, fn, "keyMask", checked_mul(env, fn, {d.B, d.L}));
  float* out = f32b(info, 4, fn, "out", n);
  float* lse = f32b(info, 5, fn, "lse", checked_mul(env, fn, {d.B, d.H, d.L}));
  distinct(info, fn, {{4, "out"}, {5, "lse"}}, {{0, "q"}, {1, "k"}, {2, "v"}, {3, "keyMask"}, {4, "out"}, {5, "lse"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_attn_smem(env, fn, d.dh);
    check_ids_dev(env, mask, d.B * d.L, 0, 2, fn, "keyMask", false, 0, " must be 0 or 1");
    attention_forward(q, k, v, mask, out, lse, d);
    return env.Undefined();
  });
}

// attentionBackward(q, k, v, keyMask, out, lse, dOut, dq, dk, dv, B, H, L, dh, causal, scale, dropout, key,
//                   interleaved)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionBackward";
  Napi::Env env = info.Env();
  expect_args(info, 19, fn);
  const AttnArgs d = attn_dims(info, 10, fn);
  const int64_t n = checked_mul(env, fn, {d.B, d.H, d.L, d.dh});
  const float* q = f32b(info, 0, fn, "q", n);
  const float* k = f32b(info, 1, fn, "k", n);
  const float* v = f32b(info, 2, fn, "v", n);
  const int32_t* mask = i32b(info, 3, fn, "keyMask", checked_mul(env, fn, {d.B, d.L}));
  const float* out = f32b(info, 4, fn, "out", n);
  const float* lse = f32b(info, 5, fn, "lse", checked_mul(env, fn, {d.B, d.H, d.L}));
  const float* dout = f32b(info, 6, fn, "dOut", n);
  float* dq = f32b(info, 7, fn, "dq", n);
  float* dk = f32b(info, 8, fn, "dk", n);
  float* dv = f32b(info, 9, fn, "dv", n);
  distinct(info, fn, {{7, "dq"}, {8, "dk"}, {9, "dv"}},
           {{0, "q"}, {1, "k"}, {2, "v"}, {3, "keyMask"}, {4, "out"}, {5, "lse"}, {6, "dOut"}, {7, "dq"}, {8, "dk"},
            {9, "dv"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_attn_smem(env, fn, d.dh);
    check_ids_dev(env, mask, d.B * d.L, 0, 2, fn, "keyMask", false, 0, " must be 0 or 1");
    attention_backward(q, k, v, mask, out, lse, dout, dq, dk, dv, d);
    return env.Undefined();
  });
}

// gruForward(x, h0, wIh, wHh, bIh, bHh, out, cache, B, L, I, H)
Napi::Value GruForward(const Napi::CallbackInfo& info) {
  const char* fn = "gruForward";
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  const int64_t B = dim_arg(info, 8, fn, "B"), L = dim_arg(info, 9, fn, "L");
  const int64_t I = dim_arg(info, 10, fn, "I"), H = dim_arg(info, 11, fn, "H");
  const int64_t G = checked_mul(env, fn, {3, H});
  const float* x = f32b(info, 0, fn, "x", checked_mul(env, fn, {B, L, I}));
  const float* h0 = f32b(info, 1, fn, "h0", checked_mul(env, fn, {B, H}));
  const float* wih = f32b(info, 2, fn, "wIh", checked_mul(env, fn, {G, I}));
  const float* whh = f32b(info, 3, fn, "wHh", checked_mul(env, fn, {G, H}));
  const float* bih = f32b(info, 4, fn, "bIh", G);
  const float* bhh = f32b(info, 5, fn, "bHh", G);
  float* out = f32b(info, 6, fn, "out", checked_mul(env, fn, {B, L, H}));
  float* cache = f32b(info, 7, fn, "cache", checked_mul(env, fn, {B, L, 4, H}));
  distinct(info, fn, {{6, "out"}, {7, "cache"}},
           {{0, "x"}, {1, "h0"}, {2, "wIh"}, {3, "wHh"}, {4, "bIh"}, {5, "bHh"}, {6, "out"}, {7, "cache"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    gru_forward(x, h0, wih, whh, bih, bhh, out, cache, B, L, I, H);
    return env.Undefined();
  });
}

// gruBackward(x, h0, wIh, wHh, out, cache, dOut, dx, dh0, dWIh, dWHh, dBIh, dBHh, B, L, I, H)
Napi::Value GruBackward(const Napi::CallbackInfo& info) {
  const char* fn = "gruBackward";
  Napi::Env env = info.Env();
  expect_args(info, 17, fn);
  const int64_t B = dim_arg(info, 13, fn, "B"), L = dim_arg(info, 14, fn, "L");
  const int64_t I = dim_arg(info, 15, fn, "I"), H = dim_arg(info, 16, fn, "H");
  const int64_t G = checked_mul(env, fn, {3, H});
  const int64_t nx = checked_mul(env, fn, {B, L, I}), nh = checked_mul(env, fn, {B, H});
  const int64_t nwi = checked_mul(env, fn, {G, I}), nwh = checked_mul(env, fn, {G, H});
  const int64_t nout = checked_mul(env, fn, {B, L, H});
  const float* x = f32b(info, 0, fn, "x", nx);
  const float* h0 = f32b(info, 1, fn, "h0", nh);
  const float* wih = f32b(info, 2, fn, "wIh", nwi);
  const float* whh = f32b(info, 3, fn, "wHh", nwh);
  const float* out = f32b(info, 4, fn, "out", nout);
  const float* cache = f32b(info, 5, fn, "cache", checked_mul(env, fn, {B, L, 4, H}));
  const float* dout = f32b(info, 6, fn, "dOut", nout);
  float* dx = f32b(info, 7, fn, "dx", nx);
  float* dh0 = f32b(info, 8, fn, "dh0", nh);
  float* dwih = f32b(info, 9, fn, "dWIh", nwi);
  float* dwhh = f32b(info, 10, fn, "dWHh", nwh);
  float* dbih = f32b(info, 11, fn, "dBIh", G);
  float* dbhh = f32b(info, 12, fn, "dBHh", G);
  distinct(info, fn, {{7, "dx"}, {8, "dh0"}, {9, "dWIh"}, {10, "dWHh"}, {11, "dBIh"}, {12, "dBHh"}},
           {{0, "x"}, {1, "h0"}, {2, "wIh"}, {3, "wHh"}, {4, "out"}, {5, "cache"}, {6, "dOut"}, {7, "dx"},
            {8, "dh0"}, {9, "dWIh"}, {10, "dWHh"}, {11, "dBIh"}, {12, "dBHh"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    gru_backward(x, h0, wih, whh, out, cache, dout, dx, dh0, dwih, dwhh, dbih, dbhh, B, L, I, H);
    return env.Undefined();
  });
}

// cosineTopk(x, queries, indices, similarities, N, D, k)
Napi::Value CosineTopk(const Napi::CallbackInfo& info) {
  const char* fn = "cosineTopk";
  Napi::Env env = info.Env();
  expect_args(info, 7, fn);
  const int64_t N = dim_arg(info, 4, fn, "N"), D = dim_arg(info, 5, fn, "D"), k = dim_arg(info, 6, fn, "k");
  if (k > N - 1) {
    throw_range(env, std::string(fn) + ": k = " + S(k) + " must be at most N-1 = " + S(N - 1) +
                         " (the query itself is excluded)");
  }
  const float* x = f32b(info, 0, fn, "x", checked_mul(env, fn, {N, D}));
  const bool has_q = !(info[1].IsNull() || info[1].IsUndefined());
  const int64_t Q = has_q ? buf_length(info, 1, fn, "queries", DType::I32) : N;
  const int32_t* queries = has_q ? i32b(info, 1, fn, "queries", Q) : nullptr;
  const int64_t Qk = checked_mul(env, fn, {Q, k});
  int32_t* indices = i32b(info, 2, fn, "indices", Qk);
  float* sims = f32b(info, 3, fn, "similarities", Qk);
  distinct(info, fn, {{2, "indices"}, {3, "similarities"}},
           {{0, "x"}, {1, "queries"}, {2, "indices"}, {3, "similarities"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    if (queries) check_ids_dev(env, queries, Q, 0, N, fn, "queries");
    cosine_topk(x, queries, Q, indices, sims, N, D, k);
    return env.Undefined();
  });
}

// twoHop(indices, twoHop, count, N, k)
Napi::Value TwoHop(const Napi::CallbackInfo& info) {
  const char* fn = "twoHop";
  Napi::Env env = info.Env();
  expect_args(info, 5, fn);
  const int64_t N = dim_arg(info, 3, fn, "N");
  const int64_t k = int_arg(info, 4, fn, "k", 0, 46340);  // k + k² must fit an int32
  const int64_t width = k + k * k;
  const int32_t* indices = i32b(info, 0, fn, "indices", checked_mul(env, fn, {N, k}));
  int32_t* out = i32b(info, 1, fn, "twoHop", checked_mul(env, fn, {N, width}));
  int32_t* count = i32b(info, 2, fn, "count", N);
  distinct(info, fn, {{1, "twoHop"}, {2, "count"}}, {{0, "indices"}, {1, "twoHop"}, {2, "count"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, indices, N * k, 0, N, fn, "indices");
    two_hop(indices, out, count, N, k);
    return env.Undefined();
  });
}

// dirichlet(counts, out, rows, K, alpha, key)
Napi::Value Dirichlet(const Napi::CallbackInfo& info) {
  const char* fn = "dirichlet";
  Napi::Env env = info.Env();
  expect_args(info, 6, fn);
  const int64_t rows = dim_arg(info, 2, fn, "rows"), K = dim_arg(info, 3, fn, "K");
  const double alpha = number_arg(info, 4, fn, "alpha");
  if (!(alpha > 0)) throw_range(env, std::string(fn) + ": alpha must be positive and finite, got " + std::to_string(alpha));
  const RngKey key = key_arg(info, 5, fn);
  const int32_t* counts = i32b(info, 0, fn, "counts", rows);
  float* out = f32b(info, 1, fn, "out", checked_mul(env, fn, {rows, K}));
  distinct(info, fn, {{1, "out"}}, {{0, "counts"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    const std::string how = " is outside [1, " + S(K) + "]";
    check_ids_dev(env, counts, rows, 1, K + 1, fn, "counts", false, 0, how.c_str());
    dirichlet(counts, out, rows, K, alpha, key);
    return env.Undefined();
  });
}

void check_neighbour_ids_dev(Napi::Env env, const int32_t* ids, int64_t n, int64_t V, const char* fn) {
  const std::string how = " is outside [0, " + S(V) + ") and is not -1 (no neighbour)";
  check_ids_dev(env, ids, n, 0, V, fn, "ids", true, -1, how.c_str());
}

// neighbourMix(table, ids, w, out, R, K, V, D)
Napi::Value NeighbourMix(const Napi::CallbackInfo& info) {
  const char* fn = "neighbourMix";
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  const int64_t R = dim_arg(info, 4, fn, "R"), K = dim_arg(info, 5, fn, "K");
  const int64_t V = dim_arg(info, 6, fn, "V"), D = dim_arg(info, 7, fn, "D");
  const int64_t RK = checked_mul(env, fn, {R, K});
  const float* table = f32b(info, 0, fn, "table", checked_mul(env, fn, {V, D}));
  const int32_t* ids = i32b(info, 1, fn, "ids", RK);
  const float* w = f32b(info, 2, fn, "w", RK);
  float* out = f32b(info, 3, fn, "out", checked_mul(env, fn, {R, D}));
  distinct(info, fn, {{3, "out"}}, {{0, "table"}, {1, "ids"}, {2, "w"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_neighbour_ids_dev(env, ids, RK, V, fn);
    neighbour_mix(table, ids, w, out, R, K, V, D);
    return env.Undefined();
  });
}

// neighbourMixBackward(dOut, ids, w, dTable, R, K, V, D)
Napi::Value NeighbourMixBackward(const Napi::CallbackInfo& info) {
  const char* fn = "neighbourMixBackward";
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  const int64_t R = dim_arg(info, 4, fn, "R"), K = dim_arg(info, 5, fn, "K");
  const int64_t V = dim_arg(info, 6, fn, "V"), D = dim_arg(info, 7, fn, "D");
  const int64_t RK = checked_mul(env, fn, {R, K});
  if (RK >= (int64_t(1) << 32)) throw_range(env, "neighbourMixBackward: R·K must be below 2^32");
  const float* dout = f32b(info, 0, fn, "dOut", checked_mul(env, fn, {R, D}));
  const int32_t* ids = i32b(info, 1, fn, "ids", RK);
  const float* w = f32b(info, 2, fn, "w", RK);
  float* dtable = f32b(info, 3, fn, "dTable", checked_mul(env, fn, {V, D}));
  distinct(info, fn, {{3, "dTable"}}, {{0, "dOut"}, {1, "ids"}, {2, "w"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_neighbour_ids_dev(env, ids, RK, V, fn);
    neighbour_mix_backward(dout, ids, w, dtable, R, K, V, D);
    return env.Undefined();
  });
}

// narmAttentionForward(q, k, w, mask, alpha, B, T, L, H)
Napi::Value NarmAttentionForward(const Napi::CallbackInfo& info) {
  const char* fn = "narmAttentionForward";
  Napi::Env env = info.Env();
  expect_args(info, 9, fn);
  const int64_t B = dim_arg(info, 5, fn, "B"), T = dim_arg(info, 6, fn, "T");
  const int64_t L = dim_arg(info, 7, fn, "L"), H = dim_arg(info, 8, fn, "H");
  check_narm_dims(env, fn, T, L);
  const float* q = f32b(info, 0, fn, "q", checked_mul(env, fn, {B, T, H}));
  const float* k = f32b(info, 1, fn, "k", checked_mul(env, fn, {B, L, H}));
  const float* w = f32b(info, 2, fn, "w", H);
  const int32_t* mask = i32b(info, 3, fn, "mask", checked_mul(env, fn, {B, L}));
  float* alpha = f32b(info, 4, fn, "alpha", checked_mul(env, fn, {B, T, L}));
  distinct(info, fn, {{4, "alpha"}}, {{0, "q"}, {1, "k"}, {2, "w"}, {3, "mask"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, mask, B * L, 0, 2, fn, "mask", false, 0, " must be 0 or 1");
    narm_attention_forward(q, k, w, mask, alpha, B, T, L, H);
    return env.Undefined();
  });
}

// narmAttentionBackward(q, k, w, mask, dAlpha, dq, dk, dw, B, T, L, H)
Napi::Value NarmAttentionBackward(const Napi::CallbackInfo& info) {
  const char* fn = "narmAttentionBackward";
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  const int64_t B = dim_arg(info, 8, fn, "B"), T = dim_arg(info, 9, fn, "T");
  const int64_t L = dim_arg(info, 10, fn, "L"), H = dim_arg(info, 11, fn, "H");
  check_narm_dims(env, fn, T, L);
  const float* q = f32b(info, 0, fn, "q", checked_mul(env, fn, {B, T, H}));
  const float* k = f32b(info, 1, fn, "k", checked_mul(env, fn, {B, L, H}));
  const float* w = f32b(info, 2, fn, "w", H);
  const int32_t* mask = i32b(info, 3, fn, "mask", checked_mul(env, fn, {B, L}));
  const float* dalpha = f32b(info, 4, fn, "dAlpha", checked_mul(env, fn, {B, T, L}));
  float* dq = f32b(info, 5, fn, "dq", checked_mul(env, fn, {B, T, H}));
  float* dk = f32b(info, 6, fn, "dk", checked_mul(env, fn, {B, L, H}));
  float* dw = f32b(info, 7, fn, "dw", H);
  distinct(info, fn, {{5, "dq"}, {6, "dk"}, {7, "dw"}},
           {{0, "q"}, {1, "k"}, {2, "w"}, {3, "mask"}, {4, "dAlpha"}, {5, "dq"}, {6, "dk"}, {7, "dw"}});
  return guarded(env, fn, [&]() -> Napi::Value {
    check_ids_dev(env, mask, B * L, 0, 2, fn, "mask", false, 0, " must be 0 or 1");
    narm_attention_backward(q, k, w, mask, dalpha, dq, dk, dw, B, T, L, H);
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
