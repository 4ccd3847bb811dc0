// Fused Adam / AdamW update in place (FORMAT.md 4.11); math in native/include/seqfair/adam.h.
#pragma once
#include <cstdint>

namespace seqfair {

void adam_step(float* param, const float* grad, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
               double eps, double weight_decay, bool decoupled, int64_t step);

}  // namespace seqfair
