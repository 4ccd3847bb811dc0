// N-API wrappers of the fused kernels: argument checks and dispatch only. Kernel bodies are in
// cpu/cross_entropy.cc, cpu/attention.cc, cpu/gru.cc, cpu/neighbours.cc and cpu/dirichlet.cc.
// Every wrapper checks, before any work: the argument count, each typed array's type and exact
// length against the dimensions, integer ranges, every index (targets, ids, masks, counts), and
// that no output overlaps an input; a bad call throws a JS TypeError/RangeError and never touches
// memory. Outputs are preallocated by the caller (src/backend/cpu.ts) and fully overwritten.
// A std::bad_alloc (or any other C++ exception) inside a kernel becomes a JS Error, never an abort.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <string>
#include <utility>

#include "check.h"
#include "cpu/attention.h"
#include "cpu/cross_entropy.h"
#include "cpu/dirichlet.h"
#include "cpu/gru.h"
#include "cpu/narm_attention.h"
#include "cpu/neighbours.h"

namespace seqfair {
namespace {

constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;

int64_t dim_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  return int_arg(info, i, fn, name, 0, kMaxDim);
}

std::string S(int64_t v) { return std::to_string(v); }

// Byte range of a typed array argument (already type-checked); empty arrays never overlap.
struct Span {
  uintptr_t lo;
  uintptr_t hi;
};

Span span_of(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsTypedArray()) return Span{0, 0};
  auto arr = info[i].As<Napi::TypedArray>();
  auto buf = arr.ArrayBuffer();
  const uintptr_t base = reinterpret_cast<uintptr_t>(buf.Data()) + arr.ByteOffset();
  return Span{base, base + arr.ByteLength()};
}

// Throws when output argument `out` shares bytes with any other array argument in `others`
// (inputs, or other outputs): the kernels read inputs while writing outputs.
void no_overlap(const Napi::CallbackInfo& info, const char* fn, size_t out, const char* out_name,
                std::initializer_list<std::pair<size_t, const char*>> others) {
  const Span a = span_of(info, out);
  if (a.lo == a.hi) return;
  for (const auto& o : others) {
    const Span b = span_of(info, o.first);
    if (b.lo == b.hi) continue;
    if (a.lo < b.hi && b.lo < a.hi) {
      throw_range(info.Env(), std::string(fn) + ": " + out_name + " must not overlap " + o.second);
    }
  }
}

// Runs a kernel, turning C++ exceptions (bad_alloc from scratch buffers) into JS errors.
template <typename F>
void run_kernel(Napi::Env env, const char* fn, F&& f) {
  try {
    f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw_range(env, std::string(fn) + ": out of memory for scratch buffers");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string(fn) + ": " + e.what());
  }
}

// targets: ignore_index or in [0, V); the message names the row and the value
void check_targets(Napi::Env env, const int32_t* t, int64_t N, int64_t V, int64_t ignore, const char* fn) {
  for (int64_t n = 0; n < N; ++n) {
    if (t[n] == ignore) continue;
    if (t[n] < 0 || t[n] >= V) {
      throw_range(env, std::string(fn) + ": targets[" + S(n) + "] = " + S(t[n]) + " is outside [0, " + S(V) +
                           ") and is not the ignore index " + S(ignore));
    }
  }
}

void check_mask01(Napi::Env env, const int32_t* m, int64_t n, const char* fn, const char* name) {
  for (int64_t i = 0; i < n; ++i) {
    if (m[i] != 0 && m[i] != 1) {
      throw_range(env, std::string(fn) + ": " + name + "[" + S(i) + "] = " + S(m[i]) + " must be 0 or 1");
    }
  }
}

int32_t ignore_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return (int32_t)int_arg(info, i, fn, "ignoreIndex", INT32_MIN, INT32_MAX);
}

// ---- cross-entropy ---------------------------------------------------------------------------

// crossEntropyForward(logits, targets, weights, loss, lse, N, C, ignoreIndex)
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyForward";
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  const int64_t N = dim_arg(info, 5, fn, "N"), C = dim_arg(info, 6, fn, "C");
  const int32_t ignore = ignore_arg(info, 7, fn);
  const float* logits = f32_arg(info, 0, fn, "logits", checked_mul(env, fn, {N, C}));
  const int32_t* targets = i32_arg(info, 1, fn, "targets", N);
  const float* weights = f32_opt_arg(info, 2, fn, "weights", N);
  float* loss = f32_arg(info, 3, fn, "loss", N);
  float* lse = f32_arg(info, 4, fn, "lse", N);
  no_overlap(info, fn, 3, "loss", {{0, "logits"}, {1, "targets"}, {2, "weights"}, {4, "lse"}});
  no_overlap(info, fn, 4, "lse", {{0, "logits"}, {1, "targets"}, {2, "weights"}});
  check_targets(env, targets, N, C, ignore, fn);
  run_kernel(env, fn, [&] { cross_entropy_forward(logits, targets, weights, loss, lse, N, C, ignore); });
  return env.Undefined();
}

// crossEntropyBackward(logits, targets, weights, lse, dLoss, dLogits, N, C, ignoreIndex)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyBackward";
  Napi::Env env = info.Env();
  expect_args(info, 9, fn);
  const int64_t N = dim_arg(info, 6, fn, "N"), C = dim_arg(info, 7, fn, "C");
  const int32_t ignore = ignore_arg(info, 8, fn);
  const int64_t NC = checked_mul(env, fn, {N, C});
  const float* logits = f32_arg(info, 0, fn, "logits", NC);
  const int32_t* targets = i32_arg(info, 1, fn, "targets", N);
  const float* weights = f32_opt_arg(info, 2, fn, "weights", N);
  const float* lse = f32_arg(info, 3, fn, "lse", N);
  const float* dloss = f32_arg(info, 4, fn, "dLoss", N);
  float* dlogits = f32_arg(info, 5, fn, "dLogits", NC);
  no_overlap(info, fn, 5, "dLogits", {{0, "logits"}, {1, "targets"}, {2, "weights"}, {3, "lse"}, {4, "dLoss"}});
  check_targets(env, targets, N, C, ignore, fn);
  run_kernel(env, fn, [&] { cross_entropy_backward(logits, targets, weights, lse, dloss, dlogits, N, C, ignore); });
  return env.Undefined();
}

// projCeForward(hidden, table, targets, weights, loss, lse, N, D, V, ignoreIndex)
Napi::Value ProjCeForward(const Napi::CallbackInfo& info) {
  const char* fn = "projCeForward";
  Napi::Env env = info.Env();
  expect_args(info, 10, fn);
  const int64_t N = dim_arg(info, 6, fn, "N"), D = dim_arg(info, 7, fn, "D"), V = dim_arg(info, 8, fn, "V");
  const int32_t ignore = ignore_arg(info, 9, fn);
  const float* hidden = f32_arg(info, 0, fn, "hidden", checked_mul(env, fn, {N, D}));
  const float* table = f32_arg(info, 1, fn, "table", checked_mul(env, fn, {V, D}));
  const int32_t* targets = i32_arg(info, 2, fn, "targets", N);
  const float* weights = f32_opt_arg(info, 3, fn, "weights", N);
  float* loss = f32_arg(info, 4, fn, "loss", N);
  float* lse = f32_arg(info, 5, fn, "lse", N);
  no_overlap(info, fn, 4, "loss", {{0, "hidden"}, {1, "table"}, {2, "targets"}, {3, "weights"}, {5, "lse"}});
  no_overlap(info, fn, 5, "lse", {{0, "hidden"}, {1, "table"}, {2, "targets"}, {3, "weights"}});
  check_targets(env, targets, N, V, ignore, fn);
  run_kernel(env, fn, [&] { proj_ce_forward(hidden, table, targets, weights, loss, lse, N, D, V, ignore); });
  return env.Undefined();
}

// projCeBackward(hidden, table, targets, weights, lse, dLoss, dHidden|null, dTable|null, N, D, V, ignoreIndex)
Napi::Value ProjCeBackward(const Napi::CallbackInfo& info) {
  const char* fn = "projCeBackward";
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  const int64_t N = dim_arg(info, 8, fn, "N"), D = dim_arg(info, 9, fn, "D"), V = dim_arg(info, 10, fn, "V");
  const int32_t ignore = ignore_arg(info, 11, fn);
  const int64_t ND = checked_mul(env, fn, {N, D}), VD = checked_mul(env, fn, {V, D});
  const float* hidden = f32_arg(info, 0, fn, "hidden", ND);
  const float* table = f32_arg(info, 1, fn, "table", VD);
  const int32_t* targets = i32_arg(info, 2, fn, "targets", N);
  const float* weights = f32_opt_arg(info, 3, fn, "weights", N);
  const float* lse = f32_arg(info, 4, fn, "lse", N);
  const float* dloss = f32_arg(info, 5, fn, "dLoss", N);
  // either gradient may be null: not wanted (A-FSR's first pass needs dHidden only)
  float* dhidden = f32_opt_arg(info, 6, fn, "dHidden", ND);
  float* dtable = f32_opt_arg(info, 7, fn, "dTable", VD);
  const std::initializer_list<std::pair<size_t, const char*>> ins = {
      {0, "hidden"}, {1, "table"}, {2, "targets"}, {3, "weights"}, {4, "lse"}, {5, "dLoss"}};
  no_overlap(info, fn, 6, "dHidden", ins);
  no_overlap(info, fn, 7, "dTable", ins);
  no_overlap(info, fn, 6, "dHidden", {{7, "dTable"}});
  check_targets(env, targets, N, V, ignore, fn);
  run_kernel(env, fn, [&] {
    proj_ce_backward(hidden, table, targets, weights, lse, dloss, dhidden, dtable, N, D, V, ignore);
  });
  return env.Undefined();
}

// ---- attention -----------------------------------------------------------------------------------

// reads B, H, L, dh, causal, scale, dropout, key, interleaved from info[first..first+8]
AttnDims attn_dims(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  Napi::Env env = info.Env();
  AttnDims d;
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
  d.key = RngKey{0, 0, 0};
  if (d.dropout > 0.0) {
    if (info[first + 7].IsNull() || info[first + 7].IsUndefined()) {
      throw_range(env, std::string(fn) + ": dropout " + std::to_string(d.dropout) + " > 0 needs an rng key, got null");
    }
    d.key = key_arg(info, first + 7, fn);
  }
  d.interleaved = bool_arg(info, first + 8, fn, "interleaved");
  return d;
}

// attentionForward(q, k, v, keyMask, out, lse, B, H, L, dh, causal, scale, dropout, key, interleaved)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionForward";
  Napi::Env env = info.Env();
  expect_args(info, 15, fn);
  const AttnDims d = attn_dims(info, 6, fn);
  const int64_t n = checked_mul(env, fn, {d.B, d.H, d.L, d.dh});
  const float* q = f32_arg(info, 0, fn, "q", n);
  const float* k = f32_arg(info, 1, fn, "k", n);
  const float* v = f32_arg(info, 2, fn, "v", n);
  const int32_t* mask = i32_arg(info, 3, fn, "keyMask", checked_mul(env, fn, {d.B, d.L}));
  float* out = f32_arg(info, 4, fn, "out", n);
  float* lse = f32_arg(info, 5, fn, "lse", checked_mul(env, fn, {d.B, d.H, d.L}));
  no_overlap(info, fn, 4, "out", {{0, "q"}, {1, "k"}, {2, "v"}, {3, "keyMask"}, {5, "lse"}});
  no_overlap(info, fn, 5, "lse", {{0, "q"}, {1, "k"}, {2, "v"}, {3, "keyMask"}});
  check_mask01(env, mask, d.B * d.L, fn, "keyMask");
  run_kernel(env, fn, [&] { attention_forward(q, k, v, mask, out, lse, d); });
  return env.Undefined();
}

// attentionBackward(q, k, v, keyMask, out, lse, dOut, dq, dk, dv, B, H, L, dh, causal, scale, dropout, key,
//                   interleaved)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionBackward";
  Napi::Env env = info.Env();
  expect_args(info, 19, fn);
  const AttnDims d = attn_dims(info, 10, fn);
  const int64_t n = checked_mul(env, fn, {d.B, d.H, d.L, d.dh});
  const float* q = f32_arg(info, 0, fn, "q", n);
  const float* k = f32_arg(info, 1, fn, "k", n);
  const float* v = f32_arg(info, 2, fn, "v", n);
  const int32_t* mask = i32_arg(info, 3, fn, "keyMask", checked_mul(env, fn, {d.B, d.L}));
  f32_arg(info, 4, fn, "out", n);  // checked for the contract; p·dP row sums come from the tiles
  const float* lse = f32_arg(info, 5, fn, "lse", checked_mul(env, fn, {d.B, d.H, d.L}));
  const float* dout = f32_arg(info, 6, fn, "dOut", n);
  float* dq = f32_arg(info, 7, fn, "dq", n);
  float* dk = f32_arg(info, 8, fn, "dk", n);
  float* dv = f32_arg(info, 9, fn, "dv", n);
  const std::initializer_list<std::pair<size_t, const char*>> ins = {
      {0, "q"}, {1, "k"}, {2, "v"}, {3, "keyMask"}, {4, "out"}, {5, "lse"}, {6, "dOut"}};
  no_overlap(info, fn, 7, "dq", ins);
  no_overlap(info, fn, 8, "dk", ins);
  no_overlap(info, fn, 9, "dv", ins);
  no_overlap(info, fn, 7, "dq", {{8, "dk"}, {9, "dv"}});
  no_overlap(info, fn, 8, "dk", {{9, "dv"}});
  check_mask01(env, mask, d.B * d.L, fn, "keyMask");
  run_kernel(env, fn, [&] { attention_backward(q, k, v, mask, lse, dout, dq, dk, dv, d); });
  return env.Undefined();
}

// ---- GRU ---------------------------------------------------------------------------------------------

// gruForward(x, h0, wIh, wHh, bIh, bHh, out, cache, B, L, I, H)
Napi::Value GruForward(const Napi::CallbackInfo& info) {
  const char* fn = "gruForward";
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  const int64_t B = dim_arg(info, 8, fn, "B"), L = dim_arg(info, 9, fn, "L");
  const int64_t I = dim_arg(info, 10, fn, "I"), H = dim_arg(info, 11, fn, "H");
  const int64_t G = checked_mul(env, fn, {3, H});
  const float* x = f32_arg(info, 0, fn, "x", checked_mul(env, fn, {B, L, I}));
  const float* h0 = f32_arg(info, 1, fn, "h0", checked_mul(env, fn, {B, H}));
  const float* wih = f32_arg(info, 2, fn, "wIh", checked_mul(env, fn, {G, I}));
  const float* whh = f32_arg(info, 3, fn, "wHh", checked_mul(env, fn, {G, H}));
  const float* bih = f32_arg(info, 4, fn, "bIh", G);
  const float* bhh = f32_arg(info, 5, fn, "bHh", G);
  float* out = f32_arg(info, 6, fn, "out", checked_mul(env, fn, {B, L, H}));
  float* cache = f32_arg(info, 7, fn, "cache", checked_mul(env, fn, {B, L, 4, H}));
  const std::initializer_list<std::pair<size_t, const char*>> ins = {
      {0, "x"}, {1, "h0"}, {2, "wIh"}, {3, "wHh"}, {4, "bIh"}, {5, "bHh"}};
  no_overlap(info, fn, 6, "out", ins);
  no_overlap(info, fn, 7, "cache", ins);
  no_overlap(info, fn, 6, "out", {{7, "cache"}});
  run_kernel(env, fn, [&] { gru_forward(x, h0, wih, whh, bih, bhh, out, cache, B, L, I, H); });
  return env.Undefined();
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
  const float* x = f32_arg(info, 0, fn, "x", nx);
  const float* h0 = f32_arg(info, 1, fn, "h0", nh);
  const float* wih = f32_arg(info, 2, fn, "wIh", nwi);
  const float* whh = f32_arg(info, 3, fn, "wHh", nwh);
  const float* out = f32_arg(info, 4, fn, "out", nout);
  const float* cache = f32_arg(info, 5, fn, "cache", checked_mul(env, fn, {B, L, 4, H}));
  const float* dout = f32_arg(info, 6, fn, "dOut", nout);
  float* dx = f32_arg(info, 7, fn, "dx", nx);
  float* dh0 = f32_arg(info, 8, fn, "dh0", nh);
  float* dwih = f32_arg(info, 9, fn, "dWIh", nwi);
  float* dwhh = f32_arg(info, 10, fn, "dWHh", nwh);
  float* dbih = f32_arg(info, 11, fn, "dBIh", G);
  float* dbhh = f32_arg(info, 12, fn, "dBHh", G);
  const std::initializer_list<std::pair<size_t, const char*>> all = {
      {0, "x"},   {1, "h0"},   {2, "wIh"},   {3, "wHh"},   {4, "out"},   {5, "cache"}, {6, "dOut"},
      {7, "dx"},  {8, "dh0"},  {9, "dWIh"},  {10, "dWHh"}, {11, "dBIh"}, {12, "dBHh"}};
  const char* names[] = {"dx", "dh0", "dWIh", "dWHh", "dBIh", "dBHh"};
  for (size_t o = 7; o <= 12; ++o) {
    for (const auto& other : all) {
      if (other.first != o) no_overlap(info, fn, o, names[o - 7], {other});
    }
  }
  run_kernel(env, fn, [&] {
    gru_backward(x, h0, wih, whh, out, cache, dout, dx, dh0, dwih, dwhh, dbih, dbhh, B, L, I, H);
  });
  return env.Undefined();
}

// ---- A-FSR neighbourhoods -----------------------------------------------------------------------------

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
  const float* x = f32_arg(info, 0, fn, "x", checked_mul(env, fn, {N, D}));
  const int32_t* queries = i32_opt_arg(info, 1, fn, "queries", -1);
  const int64_t Q = queries ? (int64_t)info[1].As<Napi::TypedArray>().ElementLength() : N;
  const int64_t Qk = checked_mul(env, fn, {Q, k});
  int32_t* indices = i32_arg(info, 2, fn, "indices", Qk);
  float* sims = f32_arg(info, 3, fn, "similarities", Qk);
  no_overlap(info, fn, 2, "indices", {{0, "x"}, {1, "queries"}, {3, "similarities"}});
  no_overlap(info, fn, 3, "similarities", {{0, "x"}, {1, "queries"}});
  if (queries) check_ids(env, queries, Q, 0, N, fn, "queries");
  run_kernel(env, fn, [&] { cosine_topk(x, queries, Q, indices, sims, N, D, k); });
  return env.Undefined();
}

// twoHop(indices, twoHop, count, N, k)
Napi::Value TwoHop(const Napi::CallbackInfo& info) {
  const char* fn = "twoHop";
  Napi::Env env = info.Env();
  expect_args(info, 5, fn);
  const int64_t N = dim_arg(info, 3, fn, "N");
  const int64_t k = int_arg(info, 4, fn, "k", 0, 46340);  // k + k² must fit an int32
  const int64_t width = k + k * k;
  const int32_t* indices = i32_arg(info, 0, fn, "indices", checked_mul(env, fn, {N, k}));
  int32_t* out = i32_arg(info, 1, fn, "twoHop", checked_mul(env, fn, {N, width}));
  int32_t* count = i32_arg(info, 2, fn, "count", N);
  no_overlap(info, fn, 1, "twoHop", {{0, "indices"}, {2, "count"}});
  no_overlap(info, fn, 2, "count", {{0, "indices"}});
  check_ids(env, indices, N * k, 0, N, fn, "indices");
  run_kernel(env, fn, [&] { two_hop(indices, out, count, N, k); });
  return env.Undefined();
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
  const int32_t* counts = i32_arg(info, 0, fn, "counts", rows);
  float* out = f32_arg(info, 1, fn, "out", checked_mul(env, fn, {rows, K}));
  no_overlap(info, fn, 1, "out", {{0, "counts"}});
  for (int64_t r = 0; r < rows; ++r) {
    if (counts[r] < 1 || counts[r] > K) {
      throw_range(env, std::string(fn) + ": counts[" + S(r) + "] = " + S(counts[r]) + " is outside [1, " + S(K) + "]");
    }
  }
  run_kernel(env, fn, [&] { dirichlet_rows(counts, out, rows, K, alpha, key); });
  return env.Undefined();
}

// neighbour ids: -1 (no neighbour) or in [0, V)
void check_neighbour_ids(Napi::Env env, const int32_t* ids, int64_t n, int64_t V, const char* fn) {
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] != -1 && (ids[i] < 0 || ids[i] >= V)) {
      throw_range(env, std::string(fn) + ": ids[" + S(i) + "] = " + S(ids[i]) + " is outside [0, " + S(V) +
                           ") and is not -1 (no neighbour)");
    }
  }
}

// neighbourMix(table, ids, w, out, R, K, V, D)
Napi::Value NeighbourMix(const Napi::CallbackInfo& info) {
  const char* fn = "neighbourMix";
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  const int64_t R = dim_arg(info, 4, fn, "R"), K = dim_arg(info, 5, fn, "K");
  const int64_t V = dim_arg(info, 6, fn, "V"), D = dim_arg(info, 7, fn, "D");
  const int64_t RK = checked_mul(env, fn, {R, K});
  const float* table = f32_arg(info, 0, fn, "table", checked_mul(env, fn, {V, D}));
  const int32_t* ids = i32_arg(info, 1, fn, "ids", RK);
  const float* w = f32_arg(info, 2, fn, "w", RK);
  float* out = f32_arg(info, 3, fn, "out", checked_mul(env, fn, {R, D}));
  no_overlap(info, fn, 3, "out", {{0, "table"}, {1, "ids"}, {2, "w"}});
  check_neighbour_ids(env, ids, RK, V, fn);
  run_kernel(env, fn, [&] { neighbour_mix(table, ids, w, out, R, K, V, D); });
  return env.Undefined();
}

// neighbourMixBackward(dOut, ids, w, dTable, R, K, V, D)
Napi::Value NeighbourMixBackward(const Napi::CallbackInfo& info) {
  const char* fn = "neighbourMixBackward";
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  const int64_t R = dim_arg(info, 4, fn, "R"), K = dim_arg(info, 5, fn, "K");
  const int64_t V = dim_arg(info, 6, fn, "V"), D = dim_arg(info, 7, fn, "D");
  const int64_t RK = checked_mul(env, fn, {R, K});
  const float* dout = f32_arg(info, 0, fn, "dOut", checked_mul(env, fn, {R, D}));
  const int32_t* ids = i32_arg(info, 1, fn, "ids", RK);
  const float* w = f32_arg(info, 2, fn, "w", RK);
  float* dtable = f32_arg(info, 3, fn, "dTable", checked_mul(env, fn, {V, D}));
  no_overlap(info, fn, 3, "dTable", {{0, "dOut"}, {1, "ids"}, {2, "w"}});
  check_neighbour_ids(env, ids, RK, V, fn);
  run_kernel(env, fn, [&] { neighbour_mix_backward(dout, ids, w, dtable, R, K, V, D); });
  return env.Undefined();
}

// narmAttentionForward(q, k, w, mask, alpha, B, T, L, H)
Napi::Value NarmAttentionForward(const Napi::CallbackInfo& info) {
  const char* fn = "narmAttentionForward";
  Napi::Env env = info.Env();
  expect_args(info, 9, fn);
  const int64_t B = dim_arg(info, 5, fn, "B"), T = dim_arg(info, 6, fn, "T");
  const int64_t L = dim_arg(info, 7, fn, "L"), H = dim_arg(info, 8, fn, "H");
  check_narm_dims(env, fn, T, L);
  const float* q = f32_arg(info, 0, fn, "q", checked_mul(env, fn, {B, T, H}));
  const float* k = f32_arg(info, 1, fn, "k", checked_mul(env, fn, {B, L, H}));
  const float* w = f32_arg(info, 2, fn, "w", H);
  const int32_t* mask = i32_arg(info, 3, fn, "mask", checked_mul(env, fn, {B, L}));
  float* alpha = f32_arg(info, 4, fn, "alpha", checked_mul(env, fn, {B, T, L}));
  no_overlap(info, fn, 4, "alpha", {{0, "q"}, {1, "k"}, {2, "w"}, {3, "mask"}});
  check_mask01(env, mask, B * L, fn, "mask");
  run_kernel(env, fn, [&] { narm_attention_forward(q, k, w, mask, alpha, B, T, L, H); });
  return env.Undefined();
}

// narmAttentionBackward(q, k, w, mask, dAlpha, dq, dk, dw, B, T, L, H)
Napi::Value NarmAttentionBackward(const Napi::CallbackInfo& info) {
  const char* fn = "narmAttentionBackward";
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  const int64_t B = dim_arg(info, 8, fn, "B"), T = dim_arg(info, 9, fn, "T");
  const int64_t L = dim_arg(info, 10, fn, "L"), H = dim_arg(info, 11, fn, "H");
  check_narm_dims(env, fn, T, L);
  const float* q = f32_arg(info, 0, fn, "q", checked_mul(env, fn, {B, T, H}));
  const float* k = f32_arg(info, 1, fn, "k", checked_mul(env, fn, {B, L, H}));
  const float* w = f32_arg(info, 2, fn, "w", H);
  const int32_t* mask = i32_arg(info, 3, fn, "mask", checked_mul(env, fn, {B, L}));
  const float* dalpha = f32_arg(info, 4, fn, "dAlpha", checked_mul(env, fn, {B, T, L}));
  float* dq = f32_arg(info, 5, fn, "dq", checked_mul(env, fn, {B, T, H}));
  float* dk = f32_arg(info, 6, fn, "dk", checked_mul(env, fn, {B, L, H}));
  float* dw = f32_arg(info, 7, fn, "dw", H);
  const std::initializer_list<std::pair<size_t, const char*>> inputs = {
      {0, "q"}, {1, "k"}, {2, "w"}, {3, "mask"}, {4, "dAlpha"}};
  no_overlap(info, fn, 5, "dq", inputs);
  no_overlap(info, fn, 6, "dk", inputs);
  no_overlap(info, fn, 7, "dw", inputs);
  no_overlap(info, fn, 6, "dk", {{5, "dq"}});
  no_overlap(info, fn, 7, "dw", {{5, "dq"}, {6, "dk"}});
  check_mask01(env, mask, B * L, fn, "mask");
  run_kernel(env, fn, [&] { narm_attention_backward(q, k, w, mask, dalpha, dq, dk, dw, B, T, L, H); });
  return env.Undefined();
}

}  // namespace

void register_fused(Napi::Env env, Napi::Object exports) {
  exports.Set("crossEntropyForward", Napi::Function::New(env, CrossEntropyForward));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward));
  exports.Set("projCeForward", Napi::Function::New(env, ProjCeForward));
  exports.Set("projCeBackward", Napi::Function::New(env, ProjCeBackward));
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("gruForward", Napi::Function::New(env, GruForward));
  exports.Set("gruBackward", Napi::Function::New(env, GruBackward));
  exports.Set("cosineTopk", Napi::Function::New(env, CosineTopk));
  exports.Set("twoHop", Napi::Function::New(env, TwoHop));
  exports.Set("dirichlet", Napi::Function::New(env, Dirichlet));
  exports.Set("neighbourMix", Napi::Function::New(env, NeighbourMix));
  exports.Set("neighbourMixBackward", Napi::Function::New(env, NeighbourMixBackward));
  exports.Set("narmAttentionForward", Napi::Function::New(env, NarmAttentionForward));
  exports.Set("narmAttentionBackward", Napi::Function::New(env, NarmAttentionBackward));
}

}  // namespace seqfair
