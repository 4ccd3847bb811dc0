// CPU driver of the Dirichlet rows (math: seqfair/dirichlet.h). Every draw is addressed by its own
// Philox counter, so any split over threads gives the reference's numbers bit for bit.
//
// AVX2 path, per block of rows: the active draws are listed (their counters d), and attempt 0 of
// Marsaglia–Tsang runs 8 draws per vector; the ~2–5 % of lanes that reject go to a list that the
// next attempt runs, again 8 lanes wide, until it is empty. The log-draws then go through the
// row normalisation with a vector max, exp and division (the sum stays scalar, in order of j, as in
// dirichlet_normalise). The scalar fallback is dirichlet_row itself.
#include "cpu/dirichlet.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/dirichlet_avx2.h"
#include "cpu/parallel.h"
#include "cpu/philox_simd.h"
#include "cpu/simd.h"
#include "seqfair/dirichlet.h"

namespace seqfair {
namespace {

constexpr int64_t kBlockRows = 256;  // rows per block (its buffers stay in L1/L2)

// buffers of one block, reused across the blocks of a task
struct Block {
  std::vector<uint32_t> dlo, dhi;  // counter d of each active draw (padded to a multiple of 8)
  std::vector<float> lg, boost;    // log-draw, log boost (lg padded by 8 more for whole-vector loads)
  std::vector<float> tmp;          // one row's exp values
  std::vector<int32_t> retry, next;
};

__attribute__((target("avx2"))) void draws_avx2(Block& b, int64_t n, const RngKey& key, const vphilox::Key8& k8,
                                                const GammaParams& g) {
  const __m256i stream = _mm256_set1_epi32((int)key.stream);
  b.retry.clear();
  for (int64_t i = 0; i < n; i += 8) {
    __m256i c[4] = {_mm256_loadu_si256((const __m256i*)(b.dlo.data() + i)),
                    _mm256_loadu_si256((const __m256i*)(b.dhi.data() + i)), stream, _mm256_set1_epi32(2)};
    vphilox::philox8(c, k8);
    const __m256 bo = vgamma::log_boost(c[3], g);
    __m256 lg;
    const int acc = _mm256_movemask_ps(vgamma::attempt(c[0], c[1], c[2], g, &lg));
    _mm256_storeu_ps(b.lg.data() + i, _mm256_add_ps(lg, bo));
    _mm256_storeu_ps(b.boost.data() + i, bo);
    if (acc != 0xff)
      for (int l = 0; l < 8 && i + l < n; ++l)
        if (!(acc >> l & 1)) b.retry.push_back((int32_t)(i + l));
  }
  // rejected draws: attempt a uses tag 2 + a, lanes gathered from the list
  for (uint32_t a = 1; !b.retry.empty(); ++a) {
    b.next.clear();
    const int64_t m = (int64_t)b.retry.size();
    for (int64_t i = 0; i < m; i += 8) {
      alignas(32) uint32_t lo[8], hi[8];
      int32_t idx[8];
      for (int l = 0; l < 8; ++l) {
        idx[l] = b.retry[(size_t)std::min(i + l, m - 1)];
        lo[l] = b.dlo[(size_t)idx[l]];
        hi[l] = b.dhi[(size_t)idx[l]];
      }
      __m256i c[4] = {_mm256_load_si256((const __m256i*)lo), _mm256_load_si256((const __m256i*)hi), stream,
                      _mm256_set1_epi32((int)(2u + a))};
      vphilox::philox8(c, k8);
      __m256 lgv;
      const int acc = _mm256_movemask_ps(vgamma::attempt(c[0], c[1], c[2], g, &lgv));
      alignas(32) float lg[8];
      _mm256_store_ps(lg, lgv);
      for (int l = 0; l < 8 && i + l < m; ++l) {
        if (acc >> l & 1) b.lg[(size_t)idx[l]] = lg[l] + b.boost[(size_t)idx[l]];
        else b.next.push_back(idx[l]);
      }
    }
    b.retry.swap(b.next);
  }
}

// rows [r0, r1) of the output from their log-draws b.lg (row after row, counts[r] each), as in
// dirichlet_normalise: the max (exact in any order), exp and division 8 lanes at a time, the sum
// in order of j
__attribute__((target("avx2"))) void normalise_avx2(Block& b, const int32_t* counts, float* out, int64_t r0, int64_t r1,
                                                    int64_t K) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  float* e = b.tmp.data();
  for (int64_t r = r0, o = 0; r < r1; o += counts[r], ++r) {
    const int64_t c = counts[r];
    const float* l = b.lg.data() + o;  // whole-vector loads past c stay inside the padded buffer
    __m256 mv = ninf;
    for (int64_t j = 0; j < c; j += 8) {
      const __m256 live = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(c - j)), iota));
      mv = _mm256_max_ps(mv, _mm256_blendv_ps(ninf, _mm256_loadu_ps(l + j), live));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const __m256 m = _mm256_broadcastss_ps(m4);
    for (int64_t j = 0; j < c; j += 8) _mm256_storeu_ps(e + j, vgamma::exp(_mm256_sub_ps(_mm256_loadu_ps(l + j), m)));
    float s = 0.0f;
    for (int64_t j = 0; j < c; ++j) s = s + e[j];
    const __m256 sv = _mm256_set1_ps(s);
    float* row = out + r * K;
    int64_t j = 0;
    for (; j + 8 <= c; j += 8) _mm256_storeu_ps(row + j, _mm256_div_ps(_mm256_loadu_ps(e + j), sv));
    if (j < c) {
      const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(c - j)), iota);
      _mm256_maskstore_ps(row + j, live, _mm256_div_ps(_mm256_loadu_ps(e + j), sv));
    }
    std::fill(row + c, row + K, 0.0f);
  }
}

__attribute__((target("avx2"))) void block_avx2(Block& b, const int32_t* counts, float* out, int64_t r0, int64_t r1,
                                                int64_t K, const RngKey& key, const GammaParams& g) {
  int64_t n = 0;
  for (int64_t r = r0; r < r1; ++r) n += counts[r];
  const size_t cap = (size_t)((n + 7) / 8 * 8);
  if (b.dlo.size() < cap) {
    b.dlo.resize(cap);
    b.dhi.resize(cap);
    b.boost.resize(cap);
    b.lg.resize(cap + 8);
  }
  if (b.tmp.size() < (size_t)(K + 8)) b.tmp.resize((size_t)(K + 8));
  int64_t o = 0;
  uint32_t* lo = b.dlo.data();
  uint32_t* hi = b.dhi.data();
  for (int64_t r = r0; r < r1; ++r) {
    const uint64_t base = key.offset + (uint64_t)r * (uint64_t)K;
    const int64_t c = counts[r];  // read once: the stores below may alias counts for the compiler
    for (int64_t j = 0; j < c; ++j) {
      lo[o + j] = (uint32_t)(base + (uint64_t)j);
      hi[o + j] = (uint32_t)((base + (uint64_t)j) >> 32);
    }
    o += c;
  }
  // the padding lanes up to a multiple of 8 repeat the last draw; their values are never read
  for (; o < (int64_t)cap; ++o) {
    b.dlo[(size_t)o] = b.dlo[(size_t)(n - 1)];
    b.dhi[(size_t)o] = b.dhi[(size_t)(n - 1)];
  }
  draws_avx2(b, n, key, vphilox::key8(key.seed), g);
  normalise_avx2(b, counts, out, r0, r1, K);
}

}  // namespace

void dirichlet_rows(const int32_t* counts, float* out, int64_t rows, int64_t K, double alpha, const RngKey& key) {
  const GammaParams g = gamma_params(alpha);
  const bool vec = simd_level() != SimdLevel::Scalar;
  parallel_for(rows, kBlockRows, [&](int64_t t0, int64_t t1) {
    if (!vec) {
      for (int64_t r = t0; r < t1; ++r) dirichlet_row(key, r, K, counts[r], g, out + r * K);
      return;
    }
    Block b;
    for (int64_t r0 = t0; r0 < t1; r0 += kBlockRows)
      block_avx2(b, counts, out, r0, std::min(t1, r0 + kBlockRows), K, key, g);
  });
}

}  // namespace seqfair
