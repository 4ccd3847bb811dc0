// Counter-based random kernels (Philox-4x32-10, native/include/seqfair/philox.h). Element i of a
// call uses the absolute element index key.offset + i, so any split over threads gives the same
// numbers as the TypeScript reference.
#pragma once
#include <cstdint>

#include "seqfair/philox.h"

namespace seqfair {

void fill_uniform(float* out, int64_t n, const RngKey& key);
void fill_normal(float* out, int64_t n, const RngKey& key);
// inverted dropout: element i kept iff uniform_at(key, key.offset + i) >= p, kept values × 1/(1−p)
void dropout_forward(const float* x, float* y, int64_t n, double p, const RngKey& key);
void dropout_backward(const float* dy, float* dx, int64_t n, double p, const RngKey& key);

}  // namespace seqfair
