// Dropout keep-multipliers for a run of consecutive Philox uniform elements, 8 (AVX2) or 16
// (AVX-512) Philox-4x32-10 blocks at a time. Bit-identical to the scalar definition in
// seqfair/philox.h (uniform element e = word e%4 of block e/4) and to seqfair/attention.h's
// attn_dropout_row, which is the scalar fallback:
//   mult[j] = 1/(1-p) if uniform(key, key.offset + e0 + j) >= p else 0,   j in [0, n)
// The comparison is done on integers: uniform = (u >> 8) · 2^-24, so uniform >= p exactly when
// (u >> 8) >= ceil(p · 2^24) (p · 2^24 is exact in double).
// Why: the attention backward regenerates the mask of every attention weight, and a scalar
// Philox block (10 rounds, 4 words) costs more than the rest of the per-weight work.
// philox8 (any 8 counters, one per lane) also serves the Gamma sampler (cpu/dirichlet.cc).
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "cpu/simd.h"
#include "seqfair/attention.h"
#include "seqfair/philox.h"

namespace seqfair {
namespace vphilox {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

inline uint32_t keep_threshold(double p) { return (uint32_t)std::ceil(p * 16777216.0); }

// 32-bit lanes: lo = (a·M) mod 2^32, hi = (a·M) >> 32
__attribute__((target("avx2"))) inline __m256i mulhilo256(__m256i a, __m256i M, __m256i* hi) {
  const __m256i pe = _mm256_mul_epu32(a, M);
  const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), M);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
  return _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
}

// The 10 round keys of a seed, broadcast: k[2r] = k0 + r·W0, k[2r+1] = k1 + r·W1 (mod 2^32).
// Built once per kernel call, so the rounds read them from memory instead of rebuilding them.
struct Key8 {
  __m256i k[20];
};

__attribute__((target("avx2"))) inline Key8 key8(uint64_t seed) {
  Key8 key;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    key.k[2 * round] = _mm256_set1_epi32((int)k0);
    key.k[2 * round + 1] = _mm256_set1_epi32((int)k1);
    k0 += kW0;
    k1 += kW1;
  }
  return key;
}

// Philox-4x32-10 on 8 independent counters, one per 32-bit lane: (c0, c1, c2, c3) in, the 4 output
// words of each lane's block back in c0..c3 (lane i of c[j] = word j of lane i's block).
__attribute__((target("avx2"))) inline void philox8(__m256i c[4], const Key8& key) {
  const __m256i M0 = _mm256_set1_epi32((int)kM0), M1 = _mm256_set1_epi32((int)kM1);
  for (int round = 0; round < 10; ++round) {
    __m256i hi0, hi1;
    const __m256i lo0 = mulhilo256(c[0], M0, &hi0);
    const __m256i lo1 = mulhilo256(c[2], M1, &hi1);
    const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c[1]), key.k[2 * round]);
    const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c[3]), key.k[2 * round + 1]);
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
  }
}

// words of 8 consecutive blocks starting at `blk`: out[4*i + w] = word w of block blk + i
__attribute__((target("avx2"))) inline void blocks8(uint64_t seed, uint64_t blk, uint32_t stream, uint32_t* out) {
  alignas(32) uint32_t lo[8], hi[8];
  for (int i = 0; i < 8; ++i) {
    lo[i] = (uint32_t)(blk + (uint64_t)i);
    hi[i] = (uint32_t)((blk + (uint64_t)i) >> 32);
  }
  __m256i c[4] = {_mm256_load_si256((const __m256i*)lo), _mm256_load_si256((const __m256i*)hi),
                  _mm256_set1_epi32((int)stream), _mm256_setzero_si256()};
  philox8(c, key8(seed));
  alignas(32) uint32_t w[4][8];
  for (int j = 0; j < 4; ++j) _mm256_store_si256((__m256i*)w[j], c[j]);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = w[j][i];
}

__attribute__((target("avx512f"))) inline __m512i mulhilo512(__m512i a, __m512i M, __m512i* hi) {
  const __m512i pe = _mm512_mul_epu32(a, M);
  const __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), M);
  *hi = _mm512_mask_blend_epi32((__mmask16)0xAAAA, _mm512_srli_epi64(pe, 32), po);
  return _mm512_mask_blend_epi32((__mmask16)0xAAAA, pe, _mm512_slli_epi64(po, 32));
}

__attribute__((target("avx512f"))) inline void blocks16(uint64_t seed, uint64_t blk, uint32_t stream, uint32_t* out) {
  alignas(64) uint32_t lo[16], hi[16];
  for (int i = 0; i < 16; ++i) {
    lo[i] = (uint32_t)(blk + (uint64_t)i);
    hi[i] = (uint32_t)((blk + (uint64_t)i) >> 32);
  }
  __m512i c0 = _mm512_load_si512(lo), c1 = _mm512_load_si512(hi);
  __m512i c2 = _mm512_set1_epi32((int)stream), c3 = _mm512_setzero_si512();
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  const __m512i M0 = _mm512_set1_epi32((int)kM0), M1 = _mm512_set1_epi32((int)kM1);
  for (int round = 0; round < 10; ++round) {
    __m512i hi0, hi1;
    const __m512i lo0 = mulhilo512(c0, M0, &hi0);
    const __m512i lo1 = mulhilo512(c2, M1, &hi1);
    const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32((int)k0));
    const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32((int)k1));
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  alignas(64) uint32_t w[4][16];
  _mm512_store_si512(w[0], c0);
  _mm512_store_si512(w[1], c1);
  _mm512_store_si512(w[2], c2);
  _mm512_store_si512(w[3], c3);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = w[j][i];
}

// Generic driver: NB blocks per call of `gen`; the head and tail of the run share the buffer.
template <int NB, typename Gen>
inline void keep_row(float* mult, int64_t n, const RngKey& key, uint64_t e0, double p, float inv_keep, Gen&& gen) {
  const uint32_t thr = keep_threshold(p);
  alignas(64) uint32_t words[4 * NB];
  int64_t j = 0;
  while (j < n) {
    const uint64_t e = key.offset + e0 + (uint64_t)j;
    const uint64_t blk = e >> 2;
    gen(key.seed, blk, key.stream, words);
    // element e sits at word (e - 4·blk) of the buffer; the buffer covers 4·NB elements
    for (int64_t w = (int64_t)(e & 3); w < 4 * NB && j < n; ++w, ++j) {
      mult[j] = (words[w] >> 8) >= thr ? inv_keep : 0.0f;
    }
  }
}

// mult[j] for elements key.offset + e0 + j, j in [0, n)
inline void dropout_mult_row(float* mult, int64_t n, const RngKey& key, uint64_t e0, double p, float inv_keep) {
  switch (simd_level()) {
    case SimdLevel::Avx512:
      keep_row<16>(mult, n, key, e0, p, inv_keep, [](uint64_t s, uint64_t b, uint32_t st, uint32_t* o) { blocks16(s, b, st, o); });
      return;
    case SimdLevel::Avx2:
      keep_row<8>(mult, n, key, e0, p, inv_keep, [](uint64_t s, uint64_t b, uint32_t st, uint32_t* o) { blocks8(s, b, st, o); });
      return;
    default:
      attn_dropout_row(mult, n, key, e0, p, inv_keep);
  }
}

}  // namespace vphilox
}  // namespace seqfair

#pragma GCC diagnostic pop
