// Inverted dropout of one element, shared by the CPU and CUDA kernels (FORMAT.md: element i of a
// call is kept iff u = uniform(key, key.offset + i) >= p; a kept value is divided by keep = 1 - p).
// The division is done in double and rounded once (not x · (1/keep) in float), which is what the
// reference backend computes; the backward pass applies the same mask and scale to dy.
#pragma once
#include <cmath>
#include <cstdint>

#include "seqfair/hd.h"

namespace seqfair {

SEQFAIR_HD float dropout_elem(float x, float u, double p, double keep) {
  return (double)u >= p ? (float)((double)x / keep) : 0.0f;
}

// The keep test on the raw Philox word, for vector loops that compare integers: the uniform is
// u = (w >> 8) · 2^-24, so u >= p exactly when (w >> 8) >= ceil(p · 2^24) (p · 2^24 is exact in
// double). dropout_elem(x, u32_to_uniform(w), p, keep) == (dropout_word_kept(w, thr) ? x/keep : 0).
SEQFAIR_HD uint32_t dropout_threshold(double p) { return (uint32_t)ceil(p * 16777216.0); }
SEQFAIR_HD bool dropout_word_kept(uint32_t w, uint32_t thr) { return (w >> 8) >= thr; }

}  // namespace seqfair
