// One Adam / AdamW update of one parameter element, FORMAT.md 4.11 (torch.optim.Adam/AdamW,
// amsgrad = False), step t ≥ 1:
//   Adam : g = grad + wd · p                          (L2 through the gradient)
//   AdamW: p = p · (1 − lr · wd),  g = grad           (decoupled decay)
//   m = β1 m + (1 − β1) g ;  v = β2 v + (1 − β2) g²
//   p = p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
// The step-dependent scalars are computed once per call in double (adam_coeffs); the element
// update runs in double and rounds p, m, v to float once each.
#pragma once
#include <cmath>

#include "seqfair/hd.h"

namespace seqfair {

struct AdamCoeffs {
  double beta1, beta2, eps, weight_decay;
  double step_size;       // lr / (1 − β1^t)
  double inv_sqrt_bc2;    // 1 / sqrt(1 − β2^t)
  double decay;           // AdamW: 1 − lr·wd ; Adam: 1
  double l2;              // Adam: wd ; AdamW: 0
};

SEQFAIR_HD AdamCoeffs adam_coeffs(double lr, double beta1, double beta2, double eps, double weight_decay,
                                  bool decoupled, double step) {
  AdamCoeffs c;
  c.beta1 = beta1;
  c.beta2 = beta2;
  c.eps = eps;
  c.weight_decay = weight_decay;
  c.step_size = lr / (1.0 - pow(beta1, step));
  c.inv_sqrt_bc2 = 1.0 / sqrt(1.0 - pow(beta2, step));
  c.decay = decoupled ? 1.0 - lr * weight_decay : 1.0;
  c.l2 = decoupled ? 0.0 : weight_decay;
  return c;
}

SEQFAIR_HD void adam_update_elem(const AdamCoeffs& c, float& p, float grad, float& m, float& v) {
  double pd = (double)p;
  const double g = (double)grad + c.l2 * pd;
  pd *= c.decay;
  const double md = c.beta1 * (double)m + (1.0 - c.beta1) * g;
  const double vd = c.beta2 * (double)v + (1.0 - c.beta2) * g * g;
  pd -= c.step_size * md / (sqrt(vd) * c.inv_sqrt_bc2 + c.eps);
  m = (float)md;
  v = (float)vd;
  p = (float)pd;
}

}  // namespace seqfair
