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
template <class Call>
CrossEntropyForward parse_cross_entropy_forward(const Call& call) {
  call.expect_count(8);
  CrossEntropyForward a;
  a.N = call.dim(5, "N");
  a.C = call.dim(6, "C");
  a.ignore = call.ignore_index(7);
  a.logits = call.f32(0, "logits", call.product({a.N, a.C}));
  a.targets = call.i32(1, "targets", a.N);
  a.weights = call.f32_or_null(2, "weights", a.N);
  a.loss = call.f32(3, "loss", a.N);
  a.lse = call.f32(4, "lse", a.N);
  outputs_must_not_overlap(call, {{3, "loss"}, {4, "lse"}}, {{0, "logits"}, {1, "targets"}, {2, "weights"}});
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
template <class Call>
CrossEntropyBackward parse_cross_entropy_backward(const Call& call) {
  call.expect_count(9);
  CrossEntropyBackward a;
  a.N = call.dim(6, "N");
  a.C = call.dim(7, "C");
  a.ignore = call.ignore_index(8);
  const int64_t NC = call.product({a.N, a.C});
  a.logits = call.f32(0, "logits", NC);
  a.targets = call.i32(1, "targets", a.N);
  a.weights = call.f32_or_null(2, "weights", a.N);
  a.lse = call.f32(3, "lse", a.N);
  a.dLoss = call.f32(4, "dLoss", a.N);
  a.dLogits = call.f32(5, "dLogits", NC);
  outputs_must_not_overlap(call, {{5, "dLogits"}},
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
template <class Call>
ProjCeForward parse_proj_ce_forward(const Call& call) {
  call.expect_count(10);
  ProjCeForward a;
  a.N = call.dim(6, "N");
  a.D = call.dim(7, "D");
  a.V = call.dim(8, "V");
  a.ignore = call.ignore_index(9);
  a.hidden = call.f32(0, "hidden", call.product({a.N, a.D}));
  a.table = call.f32(1, "table", call.product({a.V, a.D}));
  a.targets = call.i32(2, "targets", a.N);
  a.weights = call.f32_or_null(3, "weights", a.N);
  a.loss = call.f32(4, "loss", a.N);
  a.lse = call.f32(5, "lse", a.N);
  outputs_must_not_overlap(call, {{4, "loss"}, {5, "lse"}},
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
template <class Call>
ProjCeBackward parse_proj_ce_backward(const Call& call) {
  call.expect_count(12);
  ProjCeBackward a;
  a.N = call.dim(8, "N");
  a.D = call.dim(9, "D");
  a.V = call.dim(10, "V");
  a.ignore = call.ignore_index(11);
  const int64_t ND = call.product({a.N, a.D}), VD = call.product({a.V, a.D});
  a.hidden = call.f32(0, "hidden", ND);
  a.table = call.f32(1, "table", VD);
  a.targets = call.i32(2, "targets", a.N);
  a.weights = call.f32_or_null(3, "weights", a.N);
  a.lse = call.f32(4, "lse", a.N);
  a.dLoss = call.f32(5, "dLoss", a.N);
  a.dHidden = call.f32_or_null(6, "dHidden", ND);
  a.dTable = call.f32_or_null(7, "dTable", VD);
  outputs_must_not_overlap(call, {{6, "dHidden"}, {7, "dTable"}},
                           {{0, "hidden"}, {1, "table"}, {2, "targets"}, {3, "weights"}, {4, "lse"}, {5, "dLoss"}});
  return a;
}

// projCeForwardBackward(hidden, table, targets, weights|null, dLoss, loss, lse, dHidden|null,
//                       dTable|null, N, D, V, ignoreIndex): projCeForward, then projCeBackward
struct ProjCeForwardBackward {
  const float* hidden;
  const float* table;
  const int32_t* targets;
  const float* weights;
  const float* dLoss;
  float* loss;
  float* lse;
  float* dHidden;
  float* dTable;
  int64_t N, D, V;
  int32_t ignore;
};
template <class Call>
ProjCeForwardBackward parse_proj_ce_forward_backward(const Call& call) {
  call.expect_count(13);
  ProjCeForwardBackward a;
  a.N = call.dim(9, "N");
  a.D = call.dim(10, "D");
  a.V = call.dim(11, "V");
  a.ignore = call.ignore_index(12);
  const int64_t ND = call.product({a.N, a.D}), VD = call.product({a.V, a.D});
  a.hidden = call.f32(0, "hidden", ND);
  a.table = call.f32(1, "table", VD);
  a.targets = call.i32(2, "targets", a.N);
  a.weights = call.f32_or_null(3, "weights", a.N);
  a.dLoss = call.f32(4, "dLoss", a.N);
  a.loss = call.f32(5, "loss", a.N);
  a.lse = call.f32(6, "lse", a.N);
  a.dHidden = call.f32_or_null(7, "dHidden", ND);
  a.dTable = call.f32_or_null(8, "dTable", VD);
  outputs_must_not_overlap(call, {{5, "loss"}, {6, "lse"}, {7, "dHidden"}, {8, "dTable"}},
                           {{0, "hidden"}, {1, "table"}, {2, "targets"}, {3, "weights"}, {4, "dLoss"}});
  return a;
}

// ---- attention -------------------------------------------------------------------------------

// B, H, L, dh, causal, scale, dropout, key, interleaved at arguments first..first+8; the key may be
// null when dropout is 0
inline AttnDims attention_dims_arg(const CallArgs& call, size_t first) {
  AttnDims d;
  d.B = call.dim(first, "B");
  d.H = call.dim(first + 1, "H");
  d.L = call.dim(first + 2, "L");
  d.dh = call.dim(first + 3, "dh");
  d.causal = call.boolean(first + 4, "causal");
  d.scale = (float)call.number(first + 5, "scale");
  d.dropout = call.number(first + 6, "dropout");
  if (!(d.dropout >= 0.0 && d.dropout < 1.0)) {
    call.range_error("dropout probability must be in [0, 1), got " + std::to_string(d.dropout));
  }
  if (d.dropout > 0.0) {
    if (call.absent(first + 7)) {
      call.range_error("dropout " + std::to_string(d.dropout) + " > 0 needs an rng key, got null");
    }
    d.key = call.key(first + 7);
  }
  d.interleaved = call.boolean(first + 8, "interleaved");
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
template <class Call>
AttentionForward parse_attention_forward(const Call& call) {
  call.expect_count(15);
  AttentionForward a;
  a.d = attention_dims_arg(call, 6);
  const int64_t n = call.product({a.d.B, a.d.H, a.d.L, a.d.dh});
  a.q = call.f32(0, "q", n);
  a.k = call.f32(1, "k", n);
  a.v = call.f32(2, "v", n);
  a.keyMask = call.i32(3, "keyMask", call.product({a.d.B, a.d.L}));
  a.out = call.f32(4, "out", n);
  a.lse = call.f32(5, "lse", call.product({a.d.B, a.d.H, a.d.L}));
  outputs_must_not_overlap(call, {{4, "out"}, {5, "lse"}}, {{0, "q"}, {1, "k"}, {2, "v"}, {3, "keyMask"}});
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
template <class Call>
AttentionBackward parse_attention_backward(const Call& call) {
  call.expect_count(19);
  AttentionBackward a;
  a.d = attention_dims_arg(call, 10);
  const int64_t n = call.product({a.d.B, a.d.H, a.d.L, a.d.dh});
  a.q = call.f32(0, "q", n);
  a.k = call.f32(1, "k", n);
  a.v = call.f32(2, "v", n);
  a.keyMask = call.i32(3, "keyMask", call.product({a.d.B, a.d.L}));
  a.out = call.f32(4, "out", n);
  a.lse = call.f32(5, "lse", call.product({a.d.B, a.d.H, a.d.L}));
  a.dOut = call.f32(6, "dOut", n);
  a.dq = call.f32(7, "dq", n);
  a.dk = call.f32(8, "dk", n);
  a.dv = call.f32(9, "dv", n);
  outputs_must_not_overlap(call, {{7, "dq"}, {8, "dk"}, {9, "dv"}},
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
template <class Call>
GruForward parse_gru_forward(const Call& call) {
  call.expect_count(12);
  GruForward a;
  a.B = call.dim(8, "B");
  a.L = call.dim(9, "L");
  a.I = call.dim(10, "I");
  a.H = call.dim(11, "H");
  const int64_t G = call.product({3, a.H});
  a.x = call.f32(0, "x", call.product({a.B, a.L, a.I}));
  a.h0 = call.f32(1, "h0", call.product({a.B, a.H}));
  a.wIh = call.f32(2, "wIh", call.product({G, a.I}));
  a.wHh = call.f32(3, "wHh", call.product({G, a.H}));
  a.bIh = call.f32(4, "bIh", G);
  a.bHh = call.f32(5, "bHh", G);
  a.out = call.f32(6, "out", call.product({a.B, a.L, a.H}));
  a.cache = call.f32(7, "cache", call.product({a.B, a.L, 4, a.H}));
  outputs_must_not_overlap(call, {{6, "out"}, {7, "cache"}},
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
template <class Call>
GruBackward parse_gru_backward(const Call& call) {
  call.expect_count(17);
  GruBackward a;
  a.B = call.dim(13, "B");
  a.L = call.dim(14, "L");
  a.I = call.dim(15, "I");
  a.H = call.dim(16, "H");
  const int64_t G = call.product({3, a.H});
  const int64_t nx = call.product({a.B, a.L, a.I}), nh = call.product({a.B, a.H});
  const int64_t nwi = call.product({G, a.I}), nwh = call.product({G, a.H});
  const int64_t nout = call.product({a.B, a.L, a.H});
  a.x = call.f32(0, "x", nx);
  a.h0 = call.f32(1, "h0", nh);
  a.wIh = call.f32(2, "wIh", nwi);
  a.wHh = call.f32(3, "wHh", nwh);
  a.out = call.f32(4, "out", nout);
  a.cache = call.f32(5, "cache", call.product({a.B, a.L, 4, a.H}));
  a.dOut = call.f32(6, "dOut", nout);
  a.dx = call.f32(7, "dx", nx);
  a.dh0 = call.f32(8, "dh0", nh);
  a.dWIh = call.f32(9, "dWIh", nwi);
  a.dWHh = call.f32(10, "dWHh", nwh);
  a.dBIh = call.f32(11, "dBIh", G);
  a.dBHh = call.f32(12, "dBHh", G);
  outputs_must_not_overlap(
      call, {{7, "dx"}, {8, "dh0"}, {9, "dWIh"}, {10, "dWHh"}, {11, "dBIh"}, {12, "dBHh"}},
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
template <class Call>
CosineTopk parse_cosine_topk(const Call& call) {
  call.expect_count(7);
  CosineTopk a;
  a.N = call.dim(4, "N");
  a.D = call.dim(5, "D");
  a.k = call.dim(6, "k");
  if (a.k > a.N - 1) {
    call.range_error("k = " + std::to_string(a.k) + " must be at most N-1 = " +
                         std::to_string(a.N - 1) + " (the query itself is excluded)");
  }
  a.x = call.f32(0, "x", call.product({a.N, a.D}));
  a.queries = call.i32_or_null(1, "queries", kAnyLength);
  // an empty query list asks for nothing (its data pointer may be null too)
  a.Q = call.absent(1) ? a.N : call.length(1);
  const int64_t Qk = call.product({a.Q, a.k});
  a.indices = call.i32(2, "indices", Qk);
  a.similarities = call.f32(3, "similarities", Qk);
  outputs_must_not_overlap(call, {{2, "indices"}, {3, "similarities"}}, {{0, "x"}, {1, "queries"}});
  return a;
}

// twoHop(indices, twoHop, count, N, k): indices (N,k) -> twoHop (N, k+k²), count (N)
struct TwoHop {
  const int32_t* indices;
  int32_t* twoHop;
  int32_t* count;
  int64_t N, k;
};
template <class Call>
TwoHop parse_two_hop(const Call& call) {
  call.expect_count(5);
  TwoHop a;
  a.N = call.dim(3, "N");
  a.k = call.integer(4, "k", 0, 46340);  // k + k² must fit an int32
  a.indices = call.i32(0, "indices", call.product({a.N, a.k}));
  a.twoHop = call.i32(1, "twoHop", call.product({a.N, a.k + a.k * a.k}));
  a.count = call.i32(2, "count", a.N);
  outputs_must_not_overlap(call, {{1, "twoHop"}, {2, "count"}}, {{0, "indices"}});
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
template <class Call>
Dirichlet parse_dirichlet(const Call& call) {
  call.expect_count(6);
  Dirichlet a;
  a.rows = call.dim(2, "rows");
  a.K = call.dim(3, "K");
  a.alpha = call.number(4, "alpha");
  if (!(a.alpha > 0)) {
    call.range_error("alpha must be positive and finite, got " + std::to_string(a.alpha));
  }
  a.key = call.key(5);
  a.counts = call.i32(0, "counts", a.rows);
  a.out = call.f32(1, "out", call.product({a.rows, a.K}));
  outputs_must_not_overlap(call, {{1, "out"}}, {{0, "counts"}});
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
template <class Call>
NeighbourMix parse_neighbour_mix(const Call& call, bool backward) {
  call.expect_count(8);
  NeighbourMix a;
  a.R = call.dim(4, "R");
  a.K = call.dim(5, "K");
  a.V = call.dim(6, "V");
  a.D = call.dim(7, "D");
  const int64_t RK = call.product({a.R, a.K});
  const char* in_name = backward ? "dOut" : "table";
  const char* out_name = backward ? "dTable" : "out";
  a.rows = call.f32(0, in_name, backward ? call.product({a.R, a.D}) : call.product({a.V, a.D}));
  a.ids = call.i32(1, "ids", RK);
  a.w = call.f32(2, "w", RK);
  a.out = call.f32(3, out_name, backward ? call.product({a.V, a.D}) : call.product({a.R, a.D}));
  outputs_must_not_overlap(call, {{3, out_name}}, {{0, in_name}, {1, "ids"}, {2, "w"}});
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
template <class Call>
NarmAttentionForward parse_narm_attention_forward(const Call& call) {
  call.expect_count(9);
  NarmAttentionForward a;
  a.B = call.dim(5, "B");
  a.T = call.dim(6, "T");
  a.L = call.dim(7, "L");
  a.H = call.dim(8, "H");
  check_narm_dims(call.info.Env(), call.fn, a.T, a.L);
  a.q = call.f32(0, "q", call.product({a.B, a.T, a.H}));
  a.k = call.f32(1, "k", call.product({a.B, a.L, a.H}));
  a.w = call.f32(2, "w", a.H);
  a.mask = call.i32(3, "mask", call.product({a.B, a.L}));
  a.alpha = call.f32(4, "alpha", call.product({a.B, a.T, a.L}));
  outputs_must_not_overlap(call, {{4, "alpha"}}, {{0, "q"}, {1, "k"}, {2, "w"}, {3, "mask"}});
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
template <class Call>
NarmAttentionBackward parse_narm_attention_backward(const Call& call) {
  call.expect_count(12);
  NarmAttentionBackward a;
  a.B = call.dim(8, "B");
  a.T = call.dim(9, "T");
  a.L = call.dim(10, "L");
  a.H = call.dim(11, "H");
  check_narm_dims(call.info.Env(), call.fn, a.T, a.L);
  a.q = call.f32(0, "q", call.product({a.B, a.T, a.H}));
  a.k = call.f32(1, "k", call.product({a.B, a.L, a.H}));
  a.w = call.f32(2, "w", a.H);
  a.mask = call.i32(3, "mask", call.product({a.B, a.L}));
  a.dAlpha = call.f32(4, "dAlpha", call.product({a.B, a.T, a.L}));
  a.dq = call.f32(5, "dq", call.product({a.B, a.T, a.H}));
  a.dk = call.f32(6, "dk", call.product({a.B, a.L, a.H}));
  a.dw = call.f32(7, "dw", a.H);
  outputs_must_not_overlap(call, {{5, "dq"}, {6, "dk"}, {7, "dw"}},
                           {{0, "q"}, {1, "k"}, {2, "w"}, {3, "mask"}, {4, "dAlpha"}});
  return a;
}

}  // namespace args
}  // namespace seqfair
