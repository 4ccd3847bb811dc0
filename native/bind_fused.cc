// N-API wrappers of the fused kernels: the argument lists are described once, for both addons, in
// kernel_args_fused.h; here each wrapper parses with the CPU's TypedArrays, checks targets, ids,
// masks and counts on the host and runs its kernel (cpu/cross_entropy.cc, cpu/attention.cc,
// cpu/gru.cc, cpu/neighbours.cc, cpu/narm_attention.cc, cpu/dirichlet.cc). A bad call throws a JS
// TypeError/RangeError before any work and never touches memory. Outputs are preallocated by the
// caller (src/backend/cpu.ts) and fully overwritten.
// A std::bad_alloc (or any other C++ exception) inside a kernel becomes a JS Error, never an abort.
#include <napi.h>

#include <cstdint>
#include <new>
#include <string>

#include "check.h"
#include "cpu/attention.h"
#include "cpu/cross_entropy.h"
#include "cpu/dirichlet.h"
#include "cpu/gru.h"
#include "cpu/narm_attention.h"
#include "cpu/neighbours.h"
#include "kernel_args_fused.h"
#include "typed_arrays.h"

namespace seqfair {
namespace {

std::string S(int64_t v) { return std::to_string(v); }

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

// neighbour ids: -1 (no neighbour) or in [0, V)
void check_neighbour_ids(Napi::Env env, const int32_t* ids, int64_t n, int64_t V, const char* fn) {
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] != -1 && (ids[i] < 0 || ids[i] >= V)) {
      throw_range(env, std::string(fn) + ": ids[" + S(i) + "] = " + S(ids[i]) + " is outside [0, " + S(V) +
                           ") and is not -1 (no neighbour)");
    }
  }
}

// ---- cross-entropy ---------------------------------------------------------------------------

Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyForward";
  Napi::Env env = info.Env();
  const args::CrossEntropyForward a = args::parse_cross_entropy_forward(TypedArrays(info, fn));
  check_targets(env, a.targets, a.N, a.C, a.ignore, fn);
  run_kernel(env, fn, [&] { cross_entropy_forward(a.logits, a.targets, a.weights, a.loss, a.lse, a.N, a.C, a.ignore); });
  return env.Undefined();
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyBackward";
  Napi::Env env = info.Env();
  const args::CrossEntropyBackward a = args::parse_cross_entropy_backward(TypedArrays(info, fn));
  check_targets(env, a.targets, a.N, a.C, a.ignore, fn);
  run_kernel(env, fn, [&] {
    cross_entropy_backward(a.logits, a.targets, a.weights, a.lse, a.dLoss, a.dLogits, a.N, a.C, a.ignore);
  });
  return env.Undefined();
}

Napi::Value ProjCeForward(const Napi::CallbackInfo& info) {
  const char* fn = "projCeForward";
  Napi::Env env = info.Env();
  const args::ProjCeForward a = args::parse_proj_ce_forward(TypedArrays(info, fn));
  check_targets(env, a.targets, a.N, a.V, a.ignore, fn);
  run_kernel(env, fn, [&] {
    proj_ce_forward(a.hidden, a.table, a.targets, a.weights, a.loss, a.lse, a.N, a.D, a.V, a.ignore);
  });
  return env.Undefined();
}

Napi::Value ProjCeBackward(const Napi::CallbackInfo& info) {
  const char* fn = "projCeBackward";
  Napi::Env env = info.Env();
  const args::ProjCeBackward a = args::parse_proj_ce_backward(TypedArrays(info, fn));
  check_targets(env, a.targets, a.N, a.V, a.ignore, fn);
  run_kernel(env, fn, [&] {
    proj_ce_backward(a.hidden, a.table, a.targets, a.weights, a.lse, a.dLoss, a.dHidden, a.dTable, a.N, a.D, a.V,
                     a.ignore);
  });
  return env.Undefined();
}

Napi::Value ProjCeForwardBackward(const Napi::CallbackInfo& info) {
  const char* fn = "projCeForwardBackward";
  Napi::Env env = info.Env();
  const args::ProjCeForwardBackward a = args::parse_proj_ce_forward_backward(TypedArrays(info, fn));
  check_targets(env, a.targets, a.N, a.V, a.ignore, fn);
  run_kernel(env, fn, [&] {
    proj_ce_forward_backward(a.hidden, a.table, a.targets, a.weights, a.dLoss, a.loss, a.lse, a.dHidden, a.dTable, a.N,
                             a.D, a.V, a.ignore);
  });
  return env.Undefined();
}

// ---- attention -----------------------------------------------------------------------------------

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionForward";
  Napi::Env env = info.Env();
  const args::AttentionForward a = args::parse_attention_forward(TypedArrays(info, fn));
  check_mask01(env, a.keyMask, a.d.B * a.d.L, fn, "keyMask");
  run_kernel(env, fn, [&] { attention_forward(a.q, a.k, a.v, a.keyMask, a.out, a.lse, a.d); });
  return env.Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionBackward";
  Napi::Env env = info.Env();
  const args::AttentionBackward a = args::parse_attention_backward(TypedArrays(info, fn));
  check_mask01(env, a.keyMask, a.d.B * a.d.L, fn, "keyMask");
  run_kernel(env, fn, [&] { attention_backward(a.q, a.k, a.v, a.keyMask, a.lse, a.dOut, a.dq, a.dk, a.dv, a.d); });
  return env.Undefined();
}

// ---- GRU ---------------------------------------------------------------------------------------------

Napi::Value GruForward(const Napi::CallbackInfo& info) {
  const char* fn = "gruForward";
  const args::GruForward a = args::parse_gru_forward(TypedArrays(info, fn));
  run_kernel(info.Env(), fn,
             [&] { gru_forward(a.x, a.h0, a.wIh, a.wHh, a.bIh, a.bHh, a.out, a.cache, a.B, a.L, a.I, a.H); });
  return info.Env().Undefined();
}

Napi::Value GruBackward(const Napi::CallbackInfo& info) {
  const char* fn = "gruBackward";
  const args::GruBackward a = args::parse_gru_backward(TypedArrays(info, fn));
  run_kernel(info.Env(), fn, [&] {
    gru_backward(a.x, a.h0, a.wIh, a.wHh, a.out, a.cache, a.dOut, a.dx, a.dh0, a.dWIh, a.dWHh, a.dBIh, a.dBHh, a.B,
                 a.L, a.I, a.H);
  });
  return info.Env().Undefined();
}

// ---- A-FSR neighbourhoods -----------------------------------------------------------------------------

Napi::Value CosineTopk(const Napi::CallbackInfo& info) {
  const char* fn = "cosineTopk";
  Napi::Env env = info.Env();
  const args::CosineTopk a = args::parse_cosine_topk(TypedArrays(info, fn));
  if (a.queries) check_ids(env, a.queries, a.Q, 0, a.N, fn, "queries");
  run_kernel(env, fn, [&] { cosine_topk(a.x, a.queries, a.Q, a.indices, a.similarities, a.N, a.D, a.k); });
  return env.Undefined();
}

Napi::Value TwoHop(const Napi::CallbackInfo& info) {
  const char* fn = "twoHop";
  Napi::Env env = info.Env();
  const args::TwoHop a = args::parse_two_hop(TypedArrays(info, fn));
  check_ids(env, a.indices, a.N * a.k, 0, a.N, fn, "indices");
  run_kernel(env, fn, [&] { two_hop(a.indices, a.twoHop, a.count, a.N, a.k); });
  return env.Undefined();
}

Napi::Value Dirichlet(const Napi::CallbackInfo& info) {
  const char* fn = "dirichlet";
  Napi::Env env = info.Env();
  const args::Dirichlet a = args::parse_dirichlet(TypedArrays(info, fn));
  for (int64_t r = 0; r < a.rows; ++r) {
    if (a.counts[r] < 1 || a.counts[r] > a.K) {
      throw_range(env, std::string(fn) + ": counts[" + S(r) + "] = " + S(a.counts[r]) + " is outside [1, " + S(a.K) +
                           "]");
    }
  }
  run_kernel(env, fn, [&] { dirichlet_rows(a.counts, a.out, a.rows, a.K, a.alpha, a.key); });
  return env.Undefined();
}

Napi::Value NeighbourMix(const Napi::CallbackInfo& info) {
  const char* fn = "neighbourMix";
  Napi::Env env = info.Env();
  const args::NeighbourMix a = args::parse_neighbour_mix(TypedArrays(info, fn), false);
  check_neighbour_ids(env, a.ids, a.R * a.K, a.V, fn);
  run_kernel(env, fn, [&] { neighbour_mix(a.rows, a.ids, a.w, a.out, a.R, a.K, a.V, a.D); });
  return env.Undefined();
}

Napi::Value NeighbourMixBackward(const Napi::CallbackInfo& info) {
  const char* fn = "neighbourMixBackward";
  Napi::Env env = info.Env();
  const args::NeighbourMix a = args::parse_neighbour_mix(TypedArrays(info, fn), true);
  check_neighbour_ids(env, a.ids, a.R * a.K, a.V, fn);
  run_kernel(env, fn, [&] { neighbour_mix_backward(a.rows, a.ids, a.w, a.out, a.R, a.K, a.V, a.D); });
  return env.Undefined();
}

// ---- NARM attention -------------------------------------------------------------------------------------

Napi::Value NarmAttentionForward(const Napi::CallbackInfo& info) {
  const char* fn = "narmAttentionForward";
  Napi::Env env = info.Env();
  const args::NarmAttentionForward a = args::parse_narm_attention_forward(TypedArrays(info, fn));
  check_mask01(env, a.mask, a.B * a.L, fn, "mask");
  run_kernel(env, fn, [&] { narm_attention_forward(a.q, a.k, a.w, a.mask, a.alpha, a.B, a.T, a.L, a.H); });
  return env.Undefined();
}

Napi::Value NarmAttentionBackward(const Napi::CallbackInfo& info) {
  const char* fn = "narmAttentionBackward";
  Napi::Env env = info.Env();
  const args::NarmAttentionBackward a = args::parse_narm_attention_backward(TypedArrays(info, fn));
  check_mask01(env, a.mask, a.B * a.L, fn, "mask");
  run_kernel(env, fn, [&] {
    narm_attention_backward(a.q, a.k, a.w, a.mask, a.dAlpha, a.dq, a.dk, a.dw, a.B, a.T, a.L, a.H);
  });
  return env.Undefined();
}

}  // namespace

void register_fused(Napi::Env env, Napi::Object exports) {
  exports.Set("crossEntropyForward", Napi::Function::New(env, CrossEntropyForward));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward));
  exports.Set("projCeForward", Napi::Function::New(env, ProjCeForward));
  exports.Set("projCeBackward", Napi::Function::New(env, ProjCeBackward));
  exports.Set("projCeForwardBackward", Napi::Function::New(env, ProjCeForwardBackward));
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
