// Philox-4x32-10 (Salmon et al., SC'11): the one counter-based generator of seqfair.
// Twin of src/engine/philox.ts; both must give bit-identical words. Counter layout
// (key = seed lo32, seed hi32):
//   uniform element e : counter (e/4 lo, e/4 hi, stream, 0), word e%4
//   normal element e  : counter (e lo, e hi, stream, 1), Box-Muller on words 0,1 (double)
//   gamma draw d      : counter (d lo, d hi, stream, 2+attempt); words 0,1 normal, 2 acceptance,
//                       word 3 of attempt 0 = the alpha<1 boost uniform (float sampler:
//                       seqfair/dirichlet.h)
#pragma once
#include <cstdint>
#include <cmath>
#include "seqfair/hd.h"

namespace seqfair {

struct RngKey {
  uint64_t seed;
  uint32_t stream;
  uint64_t offset;
};

struct Philox4 {
  uint32_t w[4];
};

SEQFAIR_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = (uint64_t)M0 * c0;
    const uint64_t p1 = (uint64_t)M1 * c2;
    const uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    const uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    const uint32_t n0 = hi1 ^ c1 ^ k0;
    const uint32_t n2 = hi0 ^ c3 ^ k1;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 += W0; k1 += W1;
  }
  Philox4 r;
  r.w[0] = c0; r.w[1] = c1; r.w[2] = c2; r.w[3] = c3;
  return r;
}

SEQFAIR_HD Philox4 philox_block(uint64_t seed, uint64_t index, uint32_t stream, uint32_t tag) {
  return philox4x32_10((uint32_t)index, (uint32_t)(index >> 32), stream, tag, (uint32_t)seed, (uint32_t)(seed >> 32));
}

// 24 random bits -> [0,1), exact in float
SEQFAIR_HD double u32_to_uniform(uint32_t u) { return (double)(u >> 8) * (1.0 / 16777216.0); }
// (0,1], safe for log
SEQFAIR_HD double u32_to_uniform_open0(uint32_t u) { return (double)((u >> 8) + 1u) * (1.0 / 16777216.0); }

SEQFAIR_HD double box_muller(uint32_t w0, uint32_t w1) {
  const double u1 = u32_to_uniform_open0(w0);
  const double u2 = u32_to_uniform(w1);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

SEQFAIR_HD float uniform_at(const RngKey& key, uint64_t e) {
  const Philox4 b = philox_block(key.seed, e >> 2, key.stream, 0);
  return (float)u32_to_uniform(b.w[e & 3]);
}

SEQFAIR_HD float normal_at(const RngKey& key, uint64_t e) {
  const Philox4 b = philox_block(key.seed, e, key.stream, 1);
  return (float)box_muller(b.w[0], b.w[1]);
}

}  // namespace seqfair
