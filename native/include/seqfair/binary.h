// Element-wise binary ops with broadcasting, shared by the CPU and CUDA kernels.
//
// The caller (src/engine/ops/broadcast.ts, through `collapse` in src/engine/shape.ts) reduces a
// broadcast to its smallest loop nest: `rank` loop axes of sizes dims[d], and per operand a stride
// per axis (0 = broadcast). The output is contiguous, row-major over those axes:
//   y[i] = a[Σ_d idx_d(i)·sa[d]] op b[Σ_d idx_d(i)·sb[d]],   op ∈ {+, −, ×, ÷}
// rank 0 is one element. Every op is one IEEE single-precision operation, which gives the same
// bits as the reference's double operation rounded once (double rounding is innocuous for + − × ÷
// of floats: 53 ≥ 2·24 + 2 bits).
#pragma once
#include <cstdint>

#include "seqfair/hd.h"

namespace seqfair {

enum BinaryOp : int32_t { kBinaryAdd = 0, kBinarySub = 1, kBinaryMul = 2, kBinaryDiv = 3 };

constexpr int kBinaryMaxRank = 16;

struct BroadcastLoop {
  int32_t rank = 0;
  int64_t dims[kBinaryMaxRank] = {};
  int64_t sa[kBinaryMaxRank] = {};
  int64_t sb[kBinaryMaxRank] = {};
};

SEQFAIR_HD float binary_apply(int32_t op, float a, float b) {
  switch (op) {
    case kBinaryAdd: return a + b;
    case kBinarySub: return a - b;
    case kBinaryMul: return a * b;
    default: return a / b;
  }
}

// The operand offsets of output element i.
SEQFAIR_HD void broadcast_offsets(const BroadcastLoop& l, int64_t i, int64_t* ao, int64_t* bo) {
  int64_t a = 0, b = 0;
  for (int d = l.rank - 1; d >= 0; --d) {
    const int64_t idx = i % l.dims[d];
    i /= l.dims[d];
    a += idx * l.sa[d];
    b += idx * l.sb[d];
  }
  *ao = a;
  *bo = b;
}

}  // namespace seqfair
