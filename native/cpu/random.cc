// CPU drivers of the Philox kernels: uniform (element e = word e%4 of block e/4), normal
// (Box-Muller on block e), dropout masks drawn as uniforms.
// Uniform words come 8 (AVX2) or 16 (AVX-512) Philox blocks at a time from cpu/philox_simd.h,
// bit-identical to the scalar seqfair/philox.h used by the fallback, so every SIMD level and
// thread count gives the reference's numbers exactly. Dropout is seqfair/dropout.h's dropout_elem
// (the CUDA kernel's too); its vector loop does the test `uniform >= p` on integers
// (dropout_word_kept: uniform = (w >> 8)·2^-24 >= p exactly when (w >> 8) >= ceil(p·2^24)).
#include "cpu/random.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "cpu/parallel.h"
#include "cpu/philox_simd.h"
#include "cpu/simd.h"
#include "seqfair/dropout.h"

namespace seqfair {
namespace {

constexpr int64_t kGrain = 8192;
constexpr int kMaxWords = 64;  // 16 blocks

// Calls fn(j0, words, count): words[0..count) are the uniform words of elements i = j0 .. j0+count
// (absolute element key.offset + i), for [i0, i1) in runs of at most 64.
template <typename Fn>
void for_words(const RngKey& key, int64_t i0, int64_t i1, Fn&& fn) {
  alignas(64) uint32_t words[kMaxWords];
  const SimdLevel level = simd_level();
  const int nb = level == SimdLevel::Avx512 ? 16 : level == SimdLevel::Avx2 ? 8 : 1;
  int64_t i = i0;
  while (i < i1) {
    const uint64_t e = key.offset + (uint64_t)i;
    const uint64_t blk = e >> 2;
#if defined(__x86_64__) || defined(__i386__)
    if (nb == 16) vphilox::blocks16(key.seed, blk, key.stream, words);
    else if (nb == 8) vphilox::blocks8(key.seed, blk, key.stream, words);
    else
#endif
    {
      const Philox4 b = philox_block(key.seed, blk, key.stream, 0);
      for (int w = 0; w < 4; ++w) words[w] = b.w[w];
    }
    const int first = (int)(e & 3);
    const int64_t count = std::min<int64_t>(4 * nb - first, i1 - i);
    fn(i, words + first, count);
    i += count;
  }
}

// y[j] = dropout_elem(x[j], uniform(w[j]), p, keep) (seqfair/dropout.h, as the CUDA kernel)
void dropout_apply_scalar(const float* x, float* y, const uint32_t* w, int64_t count, double p, double keep) {
  for (int64_t j = 0; j < count; ++j) y[j] = dropout_elem(x[j], (float)u32_to_uniform(w[j]), p, keep);
}

#if defined(__x86_64__) || defined(__i386__)
// the same in 8 lanes: the keep test on integers (dropout_word_kept), x / keep in double lanes
// (exactly rounded, so it agrees with dropout_elem bit for bit)
__attribute__((target("avx2"))) void dropout_apply_avx2(const float* x, float* y, const uint32_t* w, int64_t count,
                                                        double p, double keep) {
  const uint32_t thr = dropout_threshold(p);
  const __m256d kv = _mm256_set1_pd(keep);
  // unsigned (w >> 8) >= thr  <=>  signed (w >> 8) > thr - 1   (both sides < 2^24)
  const __m256i tv = _mm256_set1_epi32((int)thr - 1);
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m256 xv = _mm256_loadu_ps(x + j);
    const __m128 lo = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)), kv));
    const __m128 hi = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)), kv));
    const __m256 q = _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
    const __m256i u = _mm256_srli_epi32(_mm256_loadu_si256((const __m256i*)(w + j)), 8);
    const __m256 keepm = _mm256_castsi256_ps(_mm256_cmpgt_epi32(u, tv));
    _mm256_storeu_ps(y + j, _mm256_and_ps(q, keepm));
  }
  dropout_apply_scalar(x + j, y + j, w + j, count - j, p, keep);
}
#endif

}  // namespace

void fill_uniform(float* out, int64_t n, const RngKey& key) {
  parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
    for_words(key, i0, i1, [&](int64_t j0, const uint32_t* w, int64_t count) {
      for (int64_t j = 0; j < count; ++j) out[j0 + j] = (float)(w[j] >> 8) * (1.0f / 16777216.0f);
    });
  });
}

void fill_normal(float* out, int64_t n, const RngKey& key) {
  parallel_for(n, kGrain / 4, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) out[i] = normal_at(key, key.offset + (uint64_t)i);
  });
}

void dropout_forward(const float* x, float* y, int64_t n, double p, const RngKey& key) {
  const double keep = 1.0 - p;  // divide (not multiply by 1/keep) to round like the reference
  parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
    for_words(key, i0, i1, [&](int64_t j0, const uint32_t* w, int64_t count) {
#if defined(__x86_64__) || defined(__i386__)
      if (simd_level() != SimdLevel::Scalar) {
        dropout_apply_avx2(x + j0, y + j0, w, count, p, keep);
        return;
      }
#endif
      dropout_apply_scalar(x + j0, y + j0, w, count, p, keep);
    });
  });
}

void dropout_backward(const float* dy, float* dx, int64_t n, double p, const RngKey& key) {
  dropout_forward(dy, dx, n, p, key);  // the same mask and scale: d(x·s·keep)/dx = s·keep
}

}  // namespace seqfair
