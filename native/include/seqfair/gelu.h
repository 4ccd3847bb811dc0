// Exact (erf) GELU, FORMAT.md 4.3, element-wise on any shape:
//   y      = 0.5 · x · (1 + erf(x/√2)) = x · Φ(x)
//   dy/dx  = Φ(x) + x · φ(x),   φ(x) = exp(-x²/2) / √(2π)
// Φ is evaluated as 0.5 · erfc(-x/√2) so the far negative tail (x ≈ -5 … -40) keeps its relative
// accuracy instead of cancelling in 1 + erf. Computed in double, rounded once to float.
#pragma once
#include <cmath>

#include "seqfair/hd.h"

namespace seqfair {

SEQFAIR_HD double gelu_phi_cdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }

SEQFAIR_HD float gelu_forward_elem(float x) {
  const double xd = x;
  return (float)(xd * gelu_phi_cdf(xd));
}

SEQFAIR_HD float gelu_backward_elem(float x, float dy) {
  const double xd = x;
  const double pdf = 0.39894228040143267794 * exp(-0.5 * xd * xd);
  return (float)((double)dy * (gelu_phi_cdf(xd) + xd * pdf));
}

}  // namespace seqfair
