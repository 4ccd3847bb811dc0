// CPU driver of the fused Adam/AdamW step: param, grad, m, v all of n values, updated in place,
// element-wise (adam_update_elem of native/include/seqfair/adam.h), split over the thread pool.
#include "cpu/adam.h"

#include "cpu/parallel.h"
#include "seqfair/adam.h"

namespace seqfair {

void adam_step(float* param, const float* grad, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
               double eps, double weight_decay, bool decoupled, int64_t step) {
  const AdamCoeffs c = adam_coeffs(lr, beta1, beta2, eps, weight_decay, decoupled, (double)step);
  parallel_for(n, 16384, [&](int64_t i0, int64_t i1) {
    // the four arrays are distinct (checked by the binding): let the compiler vectorise
    float* __restrict p = param;
    const float* __restrict g = grad;
    float* __restrict mm = m;
    float* __restrict vv = v;
    for (int64_t i = i0; i < i1; ++i) adam_update_elem(c, p[i], g[i], mm[i], vv[i]);
  });
}

}  // namespace seqfair
