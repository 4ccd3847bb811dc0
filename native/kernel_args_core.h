// The argument lists of the core kernels (gemm, random fills, dropout, embeddings, row-wise ops,
// Adam), written once for both addons: order, names, dims, the length each array must have and
// which outputs must stay apart from which arrays. Each parse_* reads one call through a Call
// policy (kernel_args.h) and returns raw pointers (host or device) and dims; the entry points in
// bind_core.cc and cuda/bind.cc add their own id checks and run their kernel.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "check.h"
#include "kernel_args.h"
#include "seqfair/binary.h"
#include "seqfair/philox.h"

namespace seqfair {
namespace args {

// gemm(a, b, c, batch, m, n, k, transA, transB, batchedA, batchedB, accumulate)
struct Gemm {
  const float* a;
  const float* b;
  float* c;
  int64_t batch, m, n, k;
  bool transA, transB, batchedA, batchedB, accumulate;
};
template <class Call>
Gemm parse_gemm(const Call& call) {
  call.expect_count(12);
  Gemm g;
  g.batch = call.dim(3, "batch");
  g.m = call.dim(4, "m");
  g.n = call.dim(5, "n");
  g.k = call.dim(6, "k");
  g.transA = call.boolean(7, "transA");
  g.transB = call.boolean(8, "transB");
  g.batchedA = call.boolean(9, "batchedA");
  g.batchedB = call.boolean(10, "batchedB");
  g.accumulate = call.boolean(11, "accumulate");
  // a and b not batched: one matrix shared by every batch
  g.a = call.f32(0, "a", call.product({g.batchedA ? g.batch : 1, g.m, g.k}));
  g.b = call.f32(1, "b", call.product({g.batchedB ? g.batch : 1, g.k, g.n}));
  g.c = call.f32(2, "c", call.product({g.batch, g.m, g.n}));
  outputs_must_not_overlap(call, {{2, "c"}}, {{0, "a"}, {1, "b"}});
  return g;
}

// uniform(out, key), normal(out, key)
struct RandomFill {
  float* out;
  int64_t n;
  RngKey key;
};
template <class Call>
RandomFill parse_random_fill(const Call& call) {
  call.expect_count(2);
  RandomFill r;
  r.out = call.f32(0, "out", kAnyLength);
  r.key = call.key(1);
  r.n = call.length(0);
  return r;
}

// dropoutForward(x, y, p, key), dropoutBackward(dy, dx, p, key): same length in and out; the
// output may be the input on the CPU, not on CUDA (cuda/bind.cc)
struct Dropout {
  const float* in;
  float* out;
  int64_t n;
  double p;
  RngKey key;
};
template <class Call>
Dropout parse_dropout(const Call& call, const char* in_name, const char* out_name) {
  call.expect_count(4);
  Dropout d;
  d.in = call.f32(0, in_name, kAnyLength);
  d.n = call.length(0);
  d.out = call.f32(1, out_name, d.n);
  d.p = call.probability(2);
  d.key = call.key(3);
  return d;
}

// gather(table, ids, out, V, D): out (n,D) = rows ids of table (V,D); ids are the addon's to check
struct Gather {
  const float* table;
  const int32_t* ids;
  float* out;
  int64_t n, V, D;
};
template <class Call>
Gather parse_gather(const Call& call) {
  call.expect_count(5);
  Gather g;
  g.V = call.dim(3, "V");
  g.D = call.dim(4, "D");
  g.table = call.f32(0, "table", call.product({g.V, g.D}));
  g.ids = call.i32(1, "ids", kAnyLength);
  g.n = call.length(1);
  g.out = call.f32(2, "out", call.product({g.n, g.D}));
  // out must not overlap ids either: rows written over ids would turn them into wild addresses
  outputs_must_not_overlap(call, {{2, "out"}}, {{0, "table"}, {1, "ids"}});
  return g;
}

// scatterAdd(dOut, ids, dTable, V, D): dTable (V,D) += dOut (n,D) at rows ids
struct ScatterAdd {
  const float* dOut;
  const int32_t* ids;
  float* dTable;
  int64_t n, V, D;
};
template <class Call>
ScatterAdd parse_scatter_add(const Call& call) {
  call.expect_count(5);
  ScatterAdd s;
  s.V = call.dim(3, "V");
  s.D = call.dim(4, "D");
  s.ids = call.i32(1, "ids", kAnyLength);
  s.n = call.length(1);
  s.dOut = call.f32(0, "dOut", call.product({s.n, s.D}));
  s.dTable = call.f32(2, "dTable", call.product({s.V, s.D}));
  outputs_must_not_overlap(call, {{2, "dTable"}}, {{0, "dOut"}, {1, "ids"}});  // ids: as in gather
  return s;
}

// gradNorm(g, mask, norms, rowmax, argmax, B, L, D); mask is 0/1 (the addon's to check)
struct GradNorm {
  const float* g;
  const int32_t* mask;
  float* norms;
  float* rowmax;
  int32_t* argmax;
  int64_t B, L, D;
};
template <class Call>
GradNorm parse_grad_norm(const Call& call) {
  call.expect_count(8);
  GradNorm a;
  a.B = call.dim(5, "B");
  a.L = call.dim(6, "L");
  a.D = call.dim(7, "D");
  const int64_t BL = call.product({a.B, a.L});
  a.g = call.f32(0, "g", call.product({a.B, a.L, a.D}));
  a.mask = call.i32(1, "mask", BL);
  a.norms = call.f32(2, "norms", BL);
  a.rowmax = call.f32(3, "rowmax", a.B);
  a.argmax = call.i32(4, "argmax", a.B);
  // what both addons refuse; the CUDA addon also keeps rowmax and argmax apart (cuda/bind.cc)
  outputs_must_not_overlap(call, {{2, "norms"}}, {{0, "g"}, {1, "mask"}});
  return a;
}

// layerNormForward(x, gamma, beta, y, mean, rstd, rows, D, eps)
struct LayerNormForward {
  const float* x;
  const float* gamma;
  const float* beta;
  float* y;
  float* mean;
  float* rstd;
  int64_t rows, D;
  float eps;
};
template <class Call>
LayerNormForward parse_layer_norm_forward(const Call& call) {
  call.expect_count(9);
  LayerNormForward a;
  a.rows = call.dim(6, "rows");
  a.D = call.dim(7, "D");
  const double eps = call.number(8, "eps");
  if (eps < 0) call.range_error("eps must be >= 0");
  if (a.D == 0 && a.rows > 0) call.range_error("D must be >= 1 when rows > 0");
  a.eps = (float)eps;
  const int64_t len = call.product({a.rows, a.D});
  a.x = call.f32(0, "x", len);
  a.gamma = call.f32(1, "gamma", a.D);
  a.beta = call.f32(2, "beta", a.D);
  a.y = call.f32(3, "y", len);
  a.mean = call.f32(4, "mean", a.rows);
  a.rstd = call.f32(5, "rstd", a.rows);
  // what both addons refuse: on the CPU y may be x and mean/rstd are not checked; the CUDA addon
  // keeps every output apart from every array (cuda/bind.cc)
  outputs_must_not_overlap(call, {{3, "y"}}, {{1, "gamma"}, {2, "beta"}});
  return a;
}

// layerNormBackward(x, gamma, mean, rstd, dy, dx, dGamma, dBeta, rows, D)
struct LayerNormBackward {
  const float* x;
  const float* gamma;
  const float* mean;
  const float* rstd;
  const float* dy;
  float* dx;
  float* dGamma;
  float* dBeta;
  int64_t rows, D;
};
template <class Call>
LayerNormBackward parse_layer_norm_backward(const Call& call) {
  call.expect_count(10);
  LayerNormBackward a;
  a.rows = call.dim(8, "rows");
  a.D = call.dim(9, "D");
  const int64_t len = call.product({a.rows, a.D});
  a.x = call.f32(0, "x", len);
  a.gamma = call.f32(1, "gamma", a.D);
  a.mean = call.f32(2, "mean", a.rows);
  a.rstd = call.f32(3, "rstd", a.rows);
  a.dy = call.f32(4, "dy", len);
  a.dx = call.f32(5, "dx", len);
  a.dGamma = call.f32(6, "dGamma", a.D);
  a.dBeta = call.f32(7, "dBeta", a.D);
  outputs_must_not_overlap(call, {{5, "dx"}, {6, "dGamma"}, {7, "dBeta"}},
                           {{0, "x"}, {1, "gamma"}, {2, "mean"}, {3, "rstd"}, {4, "dy"}});
  return a;
}

// binary(op, a, b, y, dims, stridesA, stridesB): y = a op b over a broadcast loop (seqfair/binary.h)
struct Binary {
  int32_t op;
  const float* a;
  const float* b;
  float* y;
  BroadcastLoop loop;
};
template <class Call>
Binary parse_binary(const Call& call) {
  call.expect_count(7);
  Binary r;
  r.op = (int32_t)call.integer(0, "op", kBinaryAdd, kBinaryDiv);
  r.a = call.f32(1, "a", kAnyLength);
  r.b = call.f32(2, "b", kAnyLength);
  r.y = call.f32(3, "y", kAnyLength);
  r.loop = broadcast_loop_arg(call.info, 4, call.fn, call.length(1), call.length(2), call.length(3));
  outputs_must_not_overlap(call, {{3, "y"}}, {{1, "a"}, {2, "b"}});
  return r;
}

// geluForward(x, y); y may be x on the CPU, not on CUDA (cuda/bind.cc)
struct GeluForward {
  const float* x;
  float* y;
  int64_t n;
};
template <class Call>
GeluForward parse_gelu_forward(const Call& call) {
  call.expect_count(2);
  GeluForward g;
  g.x = call.f32(0, "x", kAnyLength);
  g.n = call.length(0);
  g.y = call.f32(1, "y", g.n);
  return g;
}

// geluBackward(x, dy, dx); dx may be x or dy on the CPU, not on CUDA
struct GeluBackward {
  const float* x;
  const float* dy;
  float* dx;
  int64_t n;
};
template <class Call>
GeluBackward parse_gelu_backward(const Call& call) {
  call.expect_count(3);
  GeluBackward g;
  g.x = call.f32(0, "x", kAnyLength);
  g.n = call.length(0);
  g.dy = call.f32(1, "dy", g.n);
  g.dx = call.f32(2, "dx", g.n);
  return g;
}

// softmaxForward(x, y, rows, C); y may be x on the CPU, not on CUDA
struct SoftmaxForward {
  const float* x;
  float* y;
  int64_t rows, C;
};
template <class Call>
SoftmaxForward parse_softmax_forward(const Call& call) {
  call.expect_count(4);
  SoftmaxForward s;
  s.rows = call.dim(2, "rows");
  s.C = call.dim(3, "C");
  const int64_t len = call.product({s.rows, s.C});
  s.x = call.f32(0, "x", len);
  s.y = call.f32(1, "y", len);
  return s;
}

// softmaxBackward(y, dy, dx, rows, C); dx may be y or dy on the CPU, not on CUDA
struct SoftmaxBackward {
  const float* y;
  const float* dy;
  float* dx;
  int64_t rows, C;
};
template <class Call>
SoftmaxBackward parse_softmax_backward(const Call& call) {
  call.expect_count(5);
  SoftmaxBackward s;
  s.rows = call.dim(3, "rows");
  s.C = call.dim(4, "C");
  const int64_t len = call.product({s.rows, s.C});
  s.y = call.f32(0, "y", len);
  s.dy = call.f32(1, "dy", len);
  s.dx = call.f32(2, "dx", len);
  return s;
}

// adamStep(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step)
struct AdamStep {
  float* param;
  const float* grad;
  float* m;
  float* v;
  int64_t n;
  double lr, beta1, beta2, eps, weightDecay;
  bool decoupled;
  int64_t step;
};
template <class Call>
AdamStep parse_adam_step(const Call& call) {
  call.expect_count(11);
  AdamStep a;
  a.param = call.f32(0, "param", kAnyLength);
  a.n = call.length(0);
  a.grad = call.f32(1, "grad", a.n);
  a.m = call.f32(2, "m", a.n);
  a.v = call.f32(3, "v", a.n);
  a.lr = call.number(4, "lr");
  a.beta1 = call.number(5, "beta1");
  a.beta2 = call.number(6, "beta2");
  a.eps = call.number(7, "eps");
  a.weightDecay = call.number(8, "weightDecay");
  a.decoupled = call.boolean(9, "decoupled");
  a.step = call.integer(10, "step", 1, (int64_t(1) << 53) - 1);
  if (!(a.beta1 >= 0 && a.beta1 < 1)) call.range_error("beta1 must be in [0, 1)");
  if (!(a.beta2 >= 0 && a.beta2 < 1)) call.range_error("beta2 must be in [0, 1)");
  // param, m and v are updated in place element by element: three distinct buffers, none of them grad
  outputs_must_not_overlap(call, {{0, "param"}, {2, "m"}, {3, "v"}}, {{1, "grad"}});
  return a;
}

}  // namespace args
}  // namespace seqfair
