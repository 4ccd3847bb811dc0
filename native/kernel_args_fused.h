// The argument lists of the fused kernels (cross-entropy, attention, GRU, A-FSR neighbourhoods,
// NARM attention), written once for both addons as in kernel_args_core.h. Ids, targets, masks and
// counts are only read here; their values are checked by each addon (on the host or on the device)
// before its kernel runs.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "check.h"
#include "kernel_args.h"
#include "seqfair/attention.h"
#include "seqfair/philox.h"

namespace seqfair {
namespace args {

// ---- cross-entropy ---------------------------------------------------------------------------

// crossEntropyForward(logits, targets, weights|null, loss, lse, N, C, ignoreIndex)
struct CrossEntropyForward {
  const float* logits;
  const int32_t* targets;
  const float* weights;  // nullptr: every row weighs 1
  float* loss;
  float* lse;
  int64_t N, C;
  int32_t ignore;
};
template <class Arrays>
CrossEntropyForward parse_cross_entropy_forward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  expect_args(info, 8, fn);
  CrossEntropyForward a;
  a.N = dim_arg(info, 5, fn, "N");
  a.C = dim_arg(info, 6, fn, "C");
  a.ignore = ignore_arg(info, 7, fn);
  a.logits = arrays.f32(0, "logits", checked_mul(info.Env(), fn, {a.N, a.C}));
  a.targets = arrays.i32(1, "targets", a.N);
  a.weights = arrays.f32_or_null(2, "weights", a.N);
  a.loss = arrays.f32(3, "loss", a.N);
  a.lse = arrays.f32(4, "lse", a.N);
  outputs_must_not_overlap(arrays, {{3, "loss"}, {4, "lse"}}, {{0, "logits"}, {1, "targets"}, {2, "weights"}});
  return a;
}

// crossEntropyBackward(logits, targets, weights|null, lse, dLoss, dLogits, N, C, ignoreIndex)
struct CrossEntropyBackward {
  const float* logits;
  const int32_t* targets;
  const float* weights;
  const float* lse;
  const float* dLoss;
  float* dLogits;
  int64_t N, C;
  int32_t ignore;
};
template <class Arrays>
CrossEntropyBackward parse_cross_entropy_backward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  expect_args(info, 9, fn);
  CrossEntropyBackward a;
  a.N = dim_arg(info, 6, fn, "N");
  a.C = dim_arg(info, 7, fn, "C");
  a.ignore = ignore_arg(info, 8, fn);
  const int64_t NC = checked_mul(info.Env(), fn, {a.N, a.C});
  a.logits = arrays.f32(0, "logits", NC);
  a.targets = arrays.i32(1, "targets", a.N);
  a.weights = arrays.f32_or_null(2, "weights", a.N);
  a.lse = arrays.f32(3, "lse", a.N);
  a.dLoss = arrays.f32(4, "dLoss", a.N);
  a.dLogits = arrays.f32(5, "dLogits", NC);
  outputs_must_not_overlap(arrays, {{5, "dLogits"}},
                           {{0, "logits"}, {1, "targets"}, {2, "weights"}, {3, "lse"}, {4, "dLoss"}});
  return a;
}

// projCeForward(hidden, table, targets, weights|null, loss, lse, N, D, V, ignoreIndex):
// cross-entropy of the logits hidden (N,D) · table (V,D)^T without forming them
struct ProjCeForward {
  const float* hidden;
  const float* table;
  const int32_t* targets;
  const float* weights;
  float* loss;
  float* lse;
  int64_t N, D, V;
  int32_t ignore;
};
template <class Arrays>
ProjCeForward parse_proj_ce_forward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 10, fn);
  ProjCeForward a;
  a.N = dim_arg(info, 6, fn, "N");
  a.D = dim_arg(info, 7, fn, "D");
  a.V = dim_arg(info, 8, fn, "V");
  a.ignore = ignore_arg(info, 9, fn);
  a.hidden = arrays.f32(0, "hidden", checked_mul(env, fn, {a.N, a.D}));
  a.table = arrays.f32(1, "table", checked_mul(env, fn, {a.V, a.D}));
  a.targets = arrays.i32(2, "targets", a.N);
  a.weights = arrays.f32_or_null(3, "weights", a.N);
  a.loss = arrays.f32(4, "loss", a.N);
  a.lse = arrays.f32(5, "lse", a.N);
  outputs_must_not_overlap(arrays, {{4, "loss"}, {5, "lse"}},
                           {{0, "hidden"}, {1, "table"}, {2, "targets"}, {3, "weights"}});
  return a;
}

// projCeBackward(hidden, table, targets, weights|null, lse, dLoss, dHidden|null, dTable|null, N, D, V,
//                ignoreIndex)
struct ProjCeBackward {
  const float* hidden;
  const float* table;
  const int32_t* targets;
  const float* weights;
  const float* lse;
  const float* dLoss;
  float* dHidden;  // either gradient may be nullptr: not wanted (A-FSR's first pass needs dHidden only)
  float* dTable;
  int64_t N, D, V;
  int32_t ignore;
};
template <class Arrays>
ProjCeBackward parse_proj_ce_backward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  ProjCeBackward a;
  a.N = dim_arg(info, 8, fn, "N");
  a.D = dim_arg(info, 9, fn, "D");
  a.V = dim_arg(info, 10, fn, "V");
  a.ignore = ignore_arg(info, 11, fn);
  const int64_t ND = checked_mul(env, fn, {a.N, a.D}), VD = checked_mul(env, fn, {a.V, a.D});
  a.hidden = arrays.f32(0, "hidden", ND);
  a.table = arrays.f32(1, "table", VD);
  a.targets = arrays.i32(2, "targets", a.N);
  a.weights = arrays.f32_or_null(3, "weights", a.N);
  a.lse = arrays.f32(4, "lse", a.N);
  a.dLoss = arrays.f32(5, "dLoss", a.N);
  a.dHidden = arrays.f32_or_null(6, "dHidden", ND);
  a.dTable = arrays.f32_or_null(7, "dTable", VD);
  outputs_must_not_overlap(arrays, {{6, "dHidden"}, {7, "dTable"}},
                           {{0, "hidden"}, {1, "table"}, {2, "targets"}, {3, "weights"}, {4, "lse"}, {5, "dLoss"}});
  return a;
}

// ---- attention -------------------------------------------------------------------------------

// B, H, L, dh, causal, scale, dropout, key, interleaved from info[first..first+8]; the key may be
// null when dropout is 0
inline AttnDims attention_dims_arg(const Napi::CallbackInfo& info, size_t first, const char* fn) {
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
  if (d.dropout > 0.0) {
    if (is_absent(info[first + 7])) {
      throw_range(env, std::string(fn) + ": dropout " + std::to_string(d.dropout) + " > 0 needs an rng key, got null");
    }
    d.key = key_arg(info, first + 7, fn);
  }
  d.interleaved = bool_arg(info, first + 8, fn, "interleaved");
  return d;
}

// attentionForward(q, k, v, keyMask, out, lse, B, H, L, dh, causal, scale, dropout, key, interleaved)
struct AttentionForward {
  const float* q;
  const float* k;
  const float* v;
  const int32_t* keyMask;  // 0/1, (B,L)
  float* out;
  float* lse;
  AttnDims d;
};
template <class Arrays>
AttentionForward parse_attention_forward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 15, fn);
  AttentionForward a;
  a.d = attention_dims_arg(info, 6, fn);
  const int64_t n = checked_mul(env, fn, {a.d.B, a.d.H, a.d.L, a.d.dh});
  a.q = arrays.f32(0, "q", n);
  a.k = arrays.f32(1, "k", n);
  a.v = arrays.f32(2, "v", n);
  a.keyMask = arrays.i32(3, "keyMask", checked_mul(env, fn, {a.d.B, a.d.L}));
  a.out = arrays.f32(4, "out", n);
  a.lse = arrays.f32(5, "lse", checked_mul(env, fn, {a.d.B, a.d.H, a.d.L}));
  outputs_must_not_overlap(arrays, {{4, "out"}, {5, "lse"}}, {{0, "q"}, {1, "k"}, {2, "v"}, {3, "keyMask"}});
  return a;
}

// attentionBackward(q, k, v, keyMask, out, lse, dOut, dq, dk, dv, B, H, L, dh, causal, scale, dropout, key,
//                   interleaved)
struct AttentionBackward {
  const float* q;
  const float* k;
  const float* v;
  const int32_t* keyMask;
  const float* out;  // the CPU kernel does not need it (it forms Σ p·dP from its tiles)
  const float* lse;
  const float* dOut;
  float* dq;
  float* dk;
  float* dv;
  AttnDims d;
};
template <class Arrays>
AttentionBackward parse_attention_backward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 19, fn);
  AttentionBackward a;
  a.d = attention_dims_arg(info, 10, fn);
  const int64_t n = checked_mul(env, fn, {a.d.B, a.d.H, a.d.L, a.d.dh});
  a.q = arrays.f32(0, "q", n);
  a.k = arrays.f32(1, "k", n);
  a.v = arrays.f32(2, "v", n);
  a.keyMask = arrays.i32(3, "keyMask", checked_mul(env, fn, {a.d.B, a.d.L}));
  a.out = arrays.f32(4, "out", n);
  a.lse = arrays.f32(5, "lse", checked_mul(env, fn, {a.d.B, a.d.H, a.d.L}));
  a.dOut = arrays.f32(6, "dOut", n);
  a.dq = arrays.f32(7, "dq", n);
  a.dk = arrays.f32(8, "dk", n);
  a.dv = arrays.f32(9, "dv", n);
  outputs_must_not_overlap(arrays, {{7, "dq"}, {8, "dk"}, {9, "dv"}},
                           {{0, "q"}, {1, "k"}, {2, "v"}, {3, "keyMask"}, {4, "out"}, {5, "lse"}, {6, "dOut"}});
  return a;
}

// ---- GRU -------------------------------------------------------------------------------------

// gruForward(x, h0, wIh, wHh, bIh, bHh, out, cache, B, L, I, H): x (B,L,I), h0 (B,H), weights
// (3H,I)/(3H,H), biases (3H); out (B,L,H) and the backward pass's cache (B,L,4,H)
struct GruForward {
  const float* x;
  const float* h0;
  const float* wIh;
  const float* wHh;
  const float* bIh;
  const float* bHh;
  float* out;
  float* cache;
  int64_t B, L, I, H;
};
template <class Arrays>
GruForward parse_gru_forward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  GruForward a;
  a.B = dim_arg(info, 8, fn, "B");
  a.L = dim_arg(info, 9, fn, "L");
  a.I = dim_arg(info, 10, fn, "I");
  a.H = dim_arg(info, 11, fn, "H");
  const int64_t G = checked_mul(env, fn, {3, a.H});
  a.x = arrays.f32(0, "x", checked_mul(env, fn, {a.B, a.L, a.I}));
  a.h0 = arrays.f32(1, "h0", checked_mul(env, fn, {a.B, a.H}));
  a.wIh = arrays.f32(2, "wIh", checked_mul(env, fn, {G, a.I}));
  a.wHh = arrays.f32(3, "wHh", checked_mul(env, fn, {G, a.H}));
  a.bIh = arrays.f32(4, "bIh", G);
  a.bHh = arrays.f32(5, "bHh", G);
  a.out = arrays.f32(6, "out", checked_mul(env, fn, {a.B, a.L, a.H}));
  a.cache = arrays.f32(7, "cache", checked_mul(env, fn, {a.B, a.L, 4, a.H}));
  outputs_must_not_overlap(arrays, {{6, "out"}, {7, "cache"}},
                           {{0, "x"}, {1, "h0"}, {2, "wIh"}, {3, "wHh"}, {4, "bIh"}, {5, "bHh"}});
  return a;
}

// gruBackward(x, h0, wIh, wHh, out, cache, dOut, dx, dh0, dWIh, dWHh, dBIh, dBHh, B, L, I, H)
struct GruBackward {
  const float* x;
  const float* h0;
  const float* wIh;
  const float* wHh;
  const float* out;
  const float* cache;
  const float* dOut;
  float* dx;
  float* dh0;
  float* dWIh;
  float* dWHh;
  float* dBIh;
  float* dBHh;
  int64_t B, L, I, H;
};
template <class Arrays>
GruBackward parse_gru_backward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 17, fn);
  GruBackward a;
  a.B = dim_arg(info, 13, fn, "B");
  a.L = dim_arg(info, 14, fn, "L");
  a.I = dim_arg(info, 15, fn, "I");
  a.H = dim_arg(info, 16, fn, "H");
  const int64_t G = checked_mul(env, fn, {3, a.H});
  const int64_t nx = checked_mul(env, fn, {a.B, a.L, a.I}), nh = checked_mul(env, fn, {a.B, a.H});
  const int64_t nwi = checked_mul(env, fn, {G, a.I}), nwh = checked_mul(env, fn, {G, a.H});
  const int64_t nout = checked_mul(env, fn, {a.B, a.L, a.H});
  a.x = arrays.f32(0, "x", nx);
  a.h0 = arrays.f32(1, "h0", nh);
  a.wIh = arrays.f32(2, "wIh", nwi);
  a.wHh = arrays.f32(3, "wHh", nwh);
  a.out = arrays.f32(4, "out", nout);
  a.cache = arrays.f32(5, "cache", checked_mul(env, fn, {a.B, a.L, 4, a.H}));
  a.dOut = arrays.f32(6, "dOut", nout);
  a.dx = arrays.f32(7, "dx", nx);
  a.dh0 = arrays.f32(8, "dh0", nh);
  a.dWIh = arrays.f32(9, "dWIh", nwi);
  a.dWHh = arrays.f32(10, "dWHh", nwh);
  a.dBIh = arrays.f32(11, "dBIh", G);
  a.dBHh = arrays.f32(12, "dBHh", G);
  outputs_must_not_overlap(
      arrays, {{7, "dx"}, {8, "dh0"}, {9, "dWIh"}, {10, "dWHh"}, {11, "dBIh"}, {12, "dBHh"}},
      {{0, "x"}, {1, "h0"}, {2, "wIh"}, {3, "wHh"}, {4, "out"}, {5, "cache"}, {6, "dOut"}});
  return a;
}

// ---- A-FSR neighbourhoods --------------------------------------------------------------------

// cosineTopk(x, queries|null, indices, similarities, N, D, k): the k rows of x (N,D) most
// cosine-similar to each query row (all N rows when queries is null), the query itself excluded
struct CosineTopk {
  const float* x;
  const int32_t* queries;  // nullptr: every row
  int64_t Q;
  int32_t* indices;
  float* similarities;
  int64_t N, D, k;
};
template <class Arrays>
CosineTopk parse_cosine_topk(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 7, fn);
  CosineTopk a;
  a.N = dim_arg(info, 4, fn, "N");
  a.D = dim_arg(info, 5, fn, "D");
  a.k = dim_arg(info, 6, fn, "k");
  if (a.k > a.N - 1) {
    throw_range(env, std::string(fn) + ": k = " + std::to_string(a.k) + " must be at most N-1 = " +
                         std::to_string(a.N - 1) + " (the query itself is excluded)");
  }
  a.x = arrays.f32(0, "x", checked_mul(env, fn, {a.N, a.D}));
  a.queries = arrays.i32_or_null(1, "queries", kAnyLength);
  // an empty query list asks for nothing (its data pointer may be null too)
  a.Q = is_absent(info[1]) ? a.N : arrays.length(1);
  const int64_t Qk = checked_mul(env, fn, {a.Q, a.k});
  a.indices = arrays.i32(2, "indices", Qk);
  a.similarities = arrays.f32(3, "similarities", Qk);
  outputs_must_not_overlap(arrays, {{2, "indices"}, {3, "similarities"}}, {{0, "x"}, {1, "queries"}});
  return a;
}

// twoHop(indices, twoHop, count, N, k): indices (N,k) -> twoHop (N, k+k²), count (N)
struct TwoHop {
  const int32_t* indices;
  int32_t* twoHop;
  int32_t* count;
  int64_t N, k;
};
template <class Arrays>
TwoHop parse_two_hop(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 5, fn);
  TwoHop a;
  a.N = dim_arg(info, 3, fn, "N");
  a.k = int_arg(info, 4, fn, "k", 0, 46340);  // k + k² must fit an int32
  a.indices = arrays.i32(0, "indices", checked_mul(env, fn, {a.N, a.k}));
  a.twoHop = arrays.i32(1, "twoHop", checked_mul(env, fn, {a.N, a.k + a.k * a.k}));
  a.count = arrays.i32(2, "count", a.N);
  outputs_must_not_overlap(arrays, {{1, "twoHop"}, {2, "count"}}, {{0, "indices"}});
  return a;
}

// dirichlet(counts, out, rows, K, alpha, key): row r of out (rows,K) ~ Dirichlet(alpha) over its
// first counts[r] entries (counts in [1, K], the addon's to check)
struct Dirichlet {
  const int32_t* counts;
  float* out;
  int64_t rows, K;
  double alpha;
  RngKey key;
};
template <class Arrays>
Dirichlet parse_dirichlet(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 6, fn);
  Dirichlet a;
  a.rows = dim_arg(info, 2, fn, "rows");
  a.K = dim_arg(info, 3, fn, "K");
  a.alpha = number_arg(info, 4, fn, "alpha");
  if (!(a.alpha > 0)) {
    throw_range(env, std::string(fn) + ": alpha must be positive and finite, got " + std::to_string(a.alpha));
  }
  a.key = key_arg(info, 5, fn);
  a.counts = arrays.i32(0, "counts", a.rows);
  a.out = arrays.f32(1, "out", checked_mul(env, fn, {a.rows, a.K}));
  outputs_must_not_overlap(arrays, {{1, "out"}}, {{0, "counts"}});
  return a;
}

// neighbourMix(table, ids, w, out, R, K, V, D): out (R,D) = Σ_j w (R,K) · table (V,D) rows ids (R,K),
// ids -1 for no neighbour; neighbourMixBackward(dOut, ids, w, dTable, R, K, V, D) is its transpose
struct NeighbourMix {
  const float* rows;  // table (V,D) forward, dOut (R,D) backward
  const int32_t* ids;
  const float* w;
  float* out;  // out (R,D) forward, dTable (V,D) backward
  int64_t R, K, V, D;
};
template <class Arrays>
NeighbourMix parse_neighbour_mix(const Arrays& arrays, bool backward) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  NeighbourMix a;
  a.R = dim_arg(info, 4, fn, "R");
  a.K = dim_arg(info, 5, fn, "K");
  a.V = dim_arg(info, 6, fn, "V");
  a.D = dim_arg(info, 7, fn, "D");
  const int64_t RK = checked_mul(env, fn, {a.R, a.K});
  const char* in_name = backward ? "dOut" : "table";
  const char* out_name = backward ? "dTable" : "out";
  a.rows = arrays.f32(0, in_name, backward ? checked_mul(env, fn, {a.R, a.D}) : checked_mul(env, fn, {a.V, a.D}));
  a.ids = arrays.i32(1, "ids", RK);
  a.w = arrays.f32(2, "w", RK);
  a.out = arrays.f32(3, out_name, backward ? checked_mul(env, fn, {a.V, a.D}) : checked_mul(env, fn, {a.R, a.D}));
  outputs_must_not_overlap(arrays, {{3, out_name}}, {{0, in_name}, {1, "ids"}, {2, "w"}});
  return a;
}

// ---- NARM attention --------------------------------------------------------------------------

// narmAttentionForward(q, k, w, mask, alpha, B, T, L, H): q (B,T,H) for the last T of L positions,
// k (B,L,H), w (H), mask (B,L) 0/1 -> alpha (B,T,L)
struct NarmAttentionForward {
  const float* q;
  const float* k;
  const float* w;
  const int32_t* mask;
  float* alpha;
  int64_t B, T, L, H;
};
template <class Arrays>
NarmAttentionForward parse_narm_attention_forward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 9, fn);
  NarmAttentionForward a;
  a.B = dim_arg(info, 5, fn, "B");
  a.T = dim_arg(info, 6, fn, "T");
  a.L = dim_arg(info, 7, fn, "L");
  a.H = dim_arg(info, 8, fn, "H");
  check_narm_dims(env, fn, a.T, a.L);
  a.q = arrays.f32(0, "q", checked_mul(env, fn, {a.B, a.T, a.H}));
  a.k = arrays.f32(1, "k", checked_mul(env, fn, {a.B, a.L, a.H}));
  a.w = arrays.f32(2, "w", a.H);
  a.mask = arrays.i32(3, "mask", checked_mul(env, fn, {a.B, a.L}));
  a.alpha = arrays.f32(4, "alpha", checked_mul(env, fn, {a.B, a.T, a.L}));
  outputs_must_not_overlap(arrays, {{4, "alpha"}}, {{0, "q"}, {1, "k"}, {2, "w"}, {3, "mask"}});
  return a;
}

// narmAttentionBackward(q, k, w, mask, dAlpha, dq, dk, dw, B, T, L, H)
struct NarmAttentionBackward {
  const float* q;
  const float* k;
  const float* w;
  const int32_t* mask;
  const float* dAlpha;
  float* dq;
  float* dk;
  float* dw;
  int64_t B, T, L, H;
};
template <class Arrays>
NarmAttentionBackward parse_narm_attention_backward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  NarmAttentionBackward a;
  a.B = dim_arg(info, 8, fn, "B");
  a.T = dim_arg(info, 9, fn, "T");
  a.L = dim_arg(info, 10, fn, "L");
  a.H = dim_arg(info, 11, fn, "H");
  check_narm_dims(env, fn, a.T, a.L);
  a.q = arrays.f32(0, "q", checked_mul(env, fn, {a.B, a.T, a.H}));
  a.k = arrays.f32(1, "k", checked_mul(env, fn, {a.B, a.L, a.H}));
  a.w = arrays.f32(2, "w", a.H);
  a.mask = arrays.i32(3, "mask", checked_mul(env, fn, {a.B, a.L}));
  a.dAlpha = arrays.f32(4, "dAlpha", checked_mul(env, fn, {a.B, a.T, a.L}));
  a.dq = arrays.f32(5, "dq", checked_mul(env, fn, {a.B, a.T, a.H}));
  a.dk = arrays.f32(6, "dk", checked_mul(env, fn, {a.B, a.L, a.H}));
  a.dw = arrays.f32(7, "dw", a.H);
  outputs_must_not_overlap(arrays, {{5, "dq"}, {6, "dk"}, {7, "dw"}},
                           {{0, "q"}, {1, "k"}, {2, "w"}, {3, "mask"}, {4, "dAlpha"}});
  return a;
}

}  // namespace args
}  // namespace seqfair
