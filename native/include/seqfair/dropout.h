// Inverted dropout of one element, shared by the CPU and CUDA kernels (FORMAT.md: element i of a
// call is kept iff u = uniform(key, key.offset + i) >= p; a kept value is divided by keep = 1 - p).
// The division is done in double and rounded once (not x · (1/keep) in float), which is what the
// reference backend computes; the backward pass applies the same mask and scale to dy.
#pragma once
#include "seqfair/hd.h"

namespace seqfair {

SEQFAIR_HD float dropout_elem(float x, float u, double p, double keep) {
  return (double)u >= p ? (float)((double)x / keep) : 0.0f;
}

}  // namespace seqfair
