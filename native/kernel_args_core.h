// The argument lists of the core kernels (gemm, random fills, dropout, embeddings, row-wise ops,
// Adam), written once for both addons: order, names, dims, the length each array must have and
// which outputs must stay apart from which arrays. Each parse_* reads one call through an Arrays
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
template <class Arrays>
Gemm parse_gemm(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 12, fn);
  Gemm g;
  g.batch = dim_arg(info, 3, fn, "batch");
  g.m = dim_arg(info, 4, fn, "m");
  g.n = dim_arg(info, 5, fn, "n");
  g.k = dim_arg(info, 6, fn, "k");
  g.transA = bool_arg(info, 7, fn, "transA");
  g.transB = bool_arg(info, 8, fn, "transB");
  g.batchedA = bool_arg(info, 9, fn, "batchedA");
  g.batchedB = bool_arg(info, 10, fn, "batchedB");
  g.accumulate = bool_arg(info, 11, fn, "accumulate");
  // a and b not batched: one matrix shared by every batch
  g.a = arrays.f32(0, "a", checked_mul(env, fn, {g.batchedA ? g.batch : 1, g.m, g.k}));
  g.b = arrays.f32(1, "b", checked_mul(env, fn, {g.batchedB ? g.batch : 1, g.k, g.n}));
  g.c = arrays.f32(2, "c", checked_mul(env, fn, {g.batch, g.m, g.n}));
  outputs_must_not_overlap(arrays, {{2, "c"}}, {{0, "a"}, {1, "b"}});
  return g;
}

// uniform(out, key), normal(out, key)
struct RandomFill {
  float* out;
  int64_t n;
  RngKey key;
};
template <class Arrays>
RandomFill parse_random_fill(const Arrays& arrays) {
  expect_args(arrays.info, 2, arrays.fn);
  RandomFill r;
  r.out = arrays.f32(0, "out", kAnyLength);
  r.key = key_arg(arrays.info, 1, arrays.fn);
  r.n = arrays.length(0);
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
template <class Arrays>
Dropout parse_dropout(const Arrays& arrays, const char* in_name, const char* out_name) {
  expect_args(arrays.info, 4, arrays.fn);
  Dropout d;
  d.in = arrays.f32(0, in_name, kAnyLength);
  d.n = arrays.length(0);
  d.out = arrays.f32(1, out_name, d.n);
  d.p = prob_arg(arrays.info, 2, arrays.fn);
  d.key = key_arg(arrays.info, 3, arrays.fn);
  return d;
}

// gather(table, ids, out, V, D): out (n,D) = rows ids of table (V,D); ids are the addon's to check
struct Gather {
  const float* table;
  const int32_t* ids;
  float* out;
  int64_t n, V, D;
};
template <class Arrays>
Gather parse_gather(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  expect_args(info, 5, fn);
  Gather g;
  g.V = dim_arg(info, 3, fn, "V");
  g.D = dim_arg(info, 4, fn, "D");
  g.table = arrays.f32(0, "table", checked_mul(info.Env(), fn, {g.V, g.D}));
  g.ids = arrays.i32(1, "ids", kAnyLength);
  g.n = arrays.length(1);
  g.out = arrays.f32(2, "out", checked_mul(info.Env(), fn, {g.n, g.D}));
  outputs_must_not_overlap(arrays, {{2, "out"}}, {{0, "table"}});
  return g;
}

// scatterAdd(dOut, ids, dTable, V, D): dTable (V,D) += dOut (n,D) at rows ids
struct ScatterAdd {
  const float* dOut;
  const int32_t* ids;
  float* dTable;
  int64_t n, V, D;
};
template <class Arrays>
ScatterAdd parse_scatter_add(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  expect_args(info, 5, fn);
  ScatterAdd s;
  s.V = dim_arg(info, 3, fn, "V");
  s.D = dim_arg(info, 4, fn, "D");
  s.ids = arrays.i32(1, "ids", kAnyLength);
  s.n = arrays.length(1);
  s.dOut = arrays.f32(0, "dOut", checked_mul(info.Env(), fn, {s.n, s.D}));
  s.dTable = arrays.f32(2, "dTable", checked_mul(info.Env(), fn, {s.V, s.D}));
  outputs_must_not_overlap(arrays, {{2, "dTable"}}, {{0, "dOut"}});
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
template <class Arrays>
GradNorm parse_grad_norm(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 8, fn);
  GradNorm a;
  a.B = dim_arg(info, 5, fn, "B");
  a.L = dim_arg(info, 6, fn, "L");
  a.D = dim_arg(info, 7, fn, "D");
  const int64_t BL = checked_mul(env, fn, {a.B, a.L});
  a.g = arrays.f32(0, "g", checked_mul(env, fn, {a.B, a.L, a.D}));
  a.mask = arrays.i32(1, "mask", BL);
  a.norms = arrays.f32(2, "norms", BL);
  a.rowmax = arrays.f32(3, "rowmax", a.B);
  a.argmax = arrays.i32(4, "argmax", a.B);
  // what both addons refuse; the CUDA addon also keeps rowmax and argmax apart (cuda/bind.cc)
  outputs_must_not_overlap(arrays, {{2, "norms"}}, {{0, "g"}, {1, "mask"}});
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
template <class Arrays>
LayerNormForward parse_layer_norm_forward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 9, fn);
  LayerNormForward a;
  a.rows = dim_arg(info, 6, fn, "rows");
  a.D = dim_arg(info, 7, fn, "D");
  const double eps = number_arg(info, 8, fn, "eps");
  if (eps < 0) throw_range(env, std::string(fn) + ": eps must be >= 0");
  if (a.D == 0 && a.rows > 0) throw_range(env, std::string(fn) + ": D must be >= 1 when rows > 0");
  a.eps = (float)eps;
  const int64_t len = checked_mul(env, fn, {a.rows, a.D});
  a.x = arrays.f32(0, "x", len);
  a.gamma = arrays.f32(1, "gamma", a.D);
  a.beta = arrays.f32(2, "beta", a.D);
  a.y = arrays.f32(3, "y", len);
  a.mean = arrays.f32(4, "mean", a.rows);
  a.rstd = arrays.f32(5, "rstd", a.rows);
  // what both addons refuse: on the CPU y may be x and mean/rstd are not checked; the CUDA addon
  // keeps every output apart from every array (cuda/bind.cc)
  outputs_must_not_overlap(arrays, {{3, "y"}}, {{1, "gamma"}, {2, "beta"}});
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
template <class Arrays>
LayerNormBackward parse_layer_norm_backward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  expect_args(info, 10, fn);
  LayerNormBackward a;
  a.rows = dim_arg(info, 8, fn, "rows");
  a.D = dim_arg(info, 9, fn, "D");
  const int64_t len = checked_mul(info.Env(), fn, {a.rows, a.D});
  a.x = arrays.f32(0, "x", len);
  a.gamma = arrays.f32(1, "gamma", a.D);
  a.mean = arrays.f32(2, "mean", a.rows);
  a.rstd = arrays.f32(3, "rstd", a.rows);
  a.dy = arrays.f32(4, "dy", len);
  a.dx = arrays.f32(5, "dx", len);
  a.dGamma = arrays.f32(6, "dGamma", a.D);
  a.dBeta = arrays.f32(7, "dBeta", a.D);
  outputs_must_not_overlap(arrays, {{5, "dx"}, {6, "dGamma"}, {7, "dBeta"}},
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
template <class Arrays>
Binary parse_binary(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  expect_args(info, 7, fn);
  Binary r;
  r.op = (int32_t)int_arg(info, 0, fn, "op", kBinaryAdd, kBinaryDiv);
  r.a = arrays.f32(1, "a", kAnyLength);
  r.b = arrays.f32(2, "b", kAnyLength);
  r.y = arrays.f32(3, "y", kAnyLength);
  r.loop = broadcast_loop_arg(info, 4, fn, arrays.length(1), arrays.length(2), arrays.length(3));
  outputs_must_not_overlap(arrays, {{3, "y"}}, {{1, "a"}, {2, "b"}});
  return r;
}

// geluForward(x, y); y may be x on the CPU, not on CUDA (cuda/bind.cc)
struct GeluForward {
  const float* x;
  float* y;
  int64_t n;
};
template <class Arrays>
GeluForward parse_gelu_forward(const Arrays& arrays) {
  expect_args(arrays.info, 2, arrays.fn);
  GeluForward g;
  g.x = arrays.f32(0, "x", kAnyLength);
  g.n = arrays.length(0);
  g.y = arrays.f32(1, "y", g.n);
  return g;
}

// geluBackward(x, dy, dx); dx may be x or dy on the CPU, not on CUDA
struct GeluBackward {
  const float* x;
  const float* dy;
  float* dx;
  int64_t n;
};
template <class Arrays>
GeluBackward parse_gelu_backward(const Arrays& arrays) {
  expect_args(arrays.info, 3, arrays.fn);
  GeluBackward g;
  g.x = arrays.f32(0, "x", kAnyLength);
  g.n = arrays.length(0);
  g.dy = arrays.f32(1, "dy", g.n);
  g.dx = arrays.f32(2, "dx", g.n);
  return g;
}

// softmaxForward(x, y, rows, C); y may be x on the CPU, not on CUDA
struct SoftmaxForward {
  const float* x;
  float* y;
  int64_t rows, C;
};
template <class Arrays>
SoftmaxForward parse_softmax_forward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  expect_args(info, 4, fn);
  SoftmaxForward s;
  s.rows = dim_arg(info, 2, fn, "rows");
  s.C = dim_arg(info, 3, fn, "C");
  const int64_t len = checked_mul(info.Env(), fn, {s.rows, s.C});
  s.x = arrays.f32(0, "x", len);
  s.y = arrays.f32(1, "y", len);
  return s;
}

// softmaxBackward(y, dy, dx, rows, C); dx may be y or dy on the CPU, not on CUDA
struct SoftmaxBackward {
  const float* y;
  const float* dy;
  float* dx;
  int64_t rows, C;
};
template <class Arrays>
SoftmaxBackward parse_softmax_backward(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  expect_args(info, 5, fn);
  SoftmaxBackward s;
  s.rows = dim_arg(info, 3, fn, "rows");
  s.C = dim_arg(info, 4, fn, "C");
  const int64_t len = checked_mul(info.Env(), fn, {s.rows, s.C});
  s.y = arrays.f32(0, "y", len);
  s.dy = arrays.f32(1, "dy", len);
  s.dx = arrays.f32(2, "dx", len);
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
template <class Arrays>
AdamStep parse_adam_step(const Arrays& arrays) {
  const Napi::CallbackInfo& info = arrays.info;
  const char* fn = arrays.fn;
  Napi::Env env = info.Env();
  expect_args(info, 11, fn);
  AdamStep a;
  a.param = arrays.f32(0, "param", kAnyLength);
  a.n = arrays.length(0);
  a.grad = arrays.f32(1, "grad", a.n);
  a.m = arrays.f32(2, "m", a.n);
  a.v = arrays.f32(3, "v", a.n);
  a.lr = number_arg(info, 4, fn, "lr");
  a.beta1 = number_arg(info, 5, fn, "beta1");
  a.beta2 = number_arg(info, 6, fn, "beta2");
  a.eps = number_arg(info, 7, fn, "eps");
  a.weightDecay = number_arg(info, 8, fn, "weightDecay");
  a.decoupled = bool_arg(info, 9, fn, "decoupled");
  a.step = int_arg(info, 10, fn, "step", 1, (int64_t(1) << 53) - 1);
  if (!(a.beta1 >= 0 && a.beta1 < 1)) throw_range(env, std::string(fn) + ": beta1 must be in [0, 1)");
  if (!(a.beta2 >= 0 && a.beta2 < 1)) throw_range(env, std::string(fn) + ": beta2 must be in [0, 1)");
  // param, m and v are updated in place element by element: three distinct buffers, none of them grad
  outputs_must_not_overlap(arrays, {{0, "param"}, {2, "m"}, {3, "v"}}, {{1, "grad"}});
  return a;
}

}  // namespace args
}  // namespace seqfair
