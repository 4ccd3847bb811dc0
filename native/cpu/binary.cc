// CPU driver of the broadcast binary ops (seqfair/binary.h). The output is cut into rows of the
// last loop axis, on whose stride every operand is 0 or 1 (collapse guarantees it), so a row is
// one plain loop that the compiler vectorises: both operands contiguous, or one a repeated value.
// Rows are split over the threads in chunks of at least ~32K elements (below that one thread).
// Each element is computed alone (binary_apply, the function the CUDA kernel uses; Op is a
// template constant, so its switch folds away), so the result does not depend on the split.
#include "cpu/binary.h"

#include <algorithm>

#include "cpu/parallel.h"

namespace seqfair {
namespace {

// y[k] = a[k·ia] op b[k·ib] for k < n, ia, ib ∈ {0, 1}
template <int32_t Op>
void row(const float* __restrict a, int64_t ia, const float* __restrict b, int64_t ib, float* __restrict y, int64_t n) {
  if (ia == 1 && ib == 1) {
    for (int64_t k = 0; k < n; ++k) y[k] = binary_apply(Op, a[k], b[k]);
  } else if (ib == 0 && ia == 1) {
    const float v = b[0];
    for (int64_t k = 0; k < n; ++k) y[k] = binary_apply(Op, a[k], v);
  } else if (ia == 0 && ib == 1) {
    const float v = a[0];
    for (int64_t k = 0; k < n; ++k) y[k] = binary_apply(Op, v, b[k]);
  } else {
    const float v = binary_apply(Op, a[0], b[0]);
    for (int64_t k = 0; k < n; ++k) y[k] = v;
  }
}

template <int32_t Op>
void run(const float* a, const float* b, float* y, const BroadcastLoop& l) {
  if (l.rank == 0) {
    y[0] = binary_apply(Op, a[0], b[0]);
    return;
  }
  const int64_t inner = l.dims[l.rank - 1];
  const int64_t ia = l.sa[l.rank - 1], ib = l.sb[l.rank - 1];
  int64_t rows = 1;
  for (int d = 0; d + 1 < l.rank; ++d) rows *= l.dims[d];
  if (inner == 0 || rows == 0) return;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / inner);
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t ao = 0, bo = 0;
      broadcast_offsets(l, r * inner, &ao, &bo);
      row<Op>(a + ao, ia, b + bo, ib, y + r * inner, inner);
    }
  });
}

}  // namespace

void binary_broadcast(int32_t op, const float* a, const float* b, float* y, const BroadcastLoop& l) {
  switch (op) {
    case kBinaryAdd: run<kBinaryAdd>(a, b, y, l); break;
    case kBinarySub: run<kBinarySub>(a, b, y, l); break;
    case kBinaryMul: run<kBinaryMul>(a, b, y, l); break;
    default: run<kBinaryDiv>(a, b, y, l); break;
  }
}

}  // namespace seqfair
