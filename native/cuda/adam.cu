// Fused Adam / AdamW step (FORMAT.md 4.11): param, grad, m, v of n values, updated in place, one
// thread per element running adam_update_elem (seqfair/adam.h) with the step's scalars computed
// once on the host by adam_coeffs — the CPU path's exact arithmetic (double, rounded once).
#include "cuda/kernels.h"
#include "cuda/launch.h"

namespace seqfair {
namespace cuda {
namespace {

__global__ void sfk_adam_step(float* param, const float* grad, float* m, float* v, int64_t n, AdamCoeffs c) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float p = param[i], mi = m[i], vi = v[i];
    adam_update_elem(c, p, grad[i], mi, vi);
    param[i] = p;
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace

void adam_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamCoeffs& c) {
  if (n <= 0) return;
  SEQFAIR_LAUNCH(grid_for(n, kThreads), dim3(kThreads), 0, stream(), sfk_adam_step)(param, grad, m, v, n, c);
  check_launch("sfk_adam_step");
}

}  // namespace cuda
}  // namespace seqfair
