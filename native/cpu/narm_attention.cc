// NARM's local-encoder attention (see cpu/narm_attention.h). The (B,T,L,H) sigmoids are never
// stored: the backward recomputes them. σ(q + k) is taken per pair with the vector exp of
// cpu/vmath.h (AVX-512 or AVX2, picked at run time) or, without either, the shared scalar code of
// seqfair/narm_attention.h, which the CUDA kernels run too.
//
// Threads: forward over the B·T query rows; backward over the batch rows b, each owning its dq and
// dk rows and a partial ∂L/∂w, and the partials are summed in b order afterwards, so the result
// does not depend on the thread count.
#include "cpu/narm_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/parallel.h"
#include "cpu/simd.h"
#include "cpu/vmath.h"
#include "seqfair/narm_attention.h"

namespace seqfair {
namespace {

using ScoreFn = float (*)(const float*, const float*, const float*, int64_t);
// accumulates one pair's share into dq, dk (the pair's rows) and dw (the row's partial)
using PairBackwardFn = void (*)(float, const float*, const float*, const float*, float*, float*, float*, int64_t);

float score_scalar(const float* q, const float* k, const float* w, int64_t H) { return narm_pair_score(q, k, w, H); }

void pair_backward_scalar(float g, const float* q, const float* k, const float* w, float* dq, float* dk, float* dw,
                          int64_t H) {
  for (int64_t d = 0; d < H; ++d) {
    float dw_part;
    const float ds = narm_unit_backward(g, q[d], k[d], w[d], &dw_part);
    dw[d] += dw_part;
    dq[d] += ds;
    dk[d] += ds;
  }
}

// ---- AVX2 + FMA: 8 units at a time, the scalar code for the tail --------------------------------

__attribute__((target("avx2,fma"))) inline __m256 sigmoid256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, vm::exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

__attribute__((target("avx2,fma"))) float score_avx2(const float* q, const float* k, const float* w, int64_t H) {
  __m256 acc = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 8 <= H; d += 8) {
    const __m256 s = sigmoid256(_mm256_add_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + d)));
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(w + d), s, acc);
  }
  return vm::hsum256(acc) + narm_pair_score(q + d, k + d, w + d, H - d);
}

__attribute__((target("avx2,fma"))) void pair_backward_avx2(float g, const float* q, const float* k, const float* w,
                                                            float* dq, float* dk, float* dw, int64_t H) {
  const __m256 gv = _mm256_set1_ps(g), one = _mm256_set1_ps(1.0f);
  int64_t d = 0;
  for (; d + 8 <= H; d += 8) {
    const __m256 s = sigmoid256(_mm256_add_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + d)));
    const __m256 gs = _mm256_mul_ps(gv, s);
    _mm256_storeu_ps(dw + d, _mm256_add_ps(_mm256_loadu_ps(dw + d), gs));
    const __m256 ds = _mm256_mul_ps(_mm256_mul_ps(gs, _mm256_loadu_ps(w + d)), _mm256_sub_ps(one, s));
    _mm256_storeu_ps(dq + d, _mm256_add_ps(_mm256_loadu_ps(dq + d), ds));
    _mm256_storeu_ps(dk + d, _mm256_add_ps(_mm256_loadu_ps(dk + d), ds));
  }
  pair_backward_scalar(g, q + d, k + d, w + d, dq + d, dk + d, dw + d, H - d);
}

// ---- AVX-512: 16 units at a time, the tail through masked loads (w = 0 there) -------------------

__attribute__((target("avx512f"))) inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

__attribute__((target("avx512f"))) inline __m512 sigmoid512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, vm::exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

__attribute__((target("avx512f"))) float score_avx512(const float* q, const float* k, const float* w, int64_t H) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t d = 0; d < H; d += 16) {
    const __mmask16 m = tail_mask(H - d);
    const __m512 s = sigmoid512(_mm512_add_ps(_mm512_maskz_loadu_ps(m, q + d), _mm512_maskz_loadu_ps(m, k + d)));
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + d), s, acc);
  }
  return vm::hsum512(acc);
}

__attribute__((target("avx512f"))) void pair_backward_avx512(float g, const float* q, const float* k, const float* w,
                                                             float* dq, float* dk, float* dw, int64_t H) {
  const __m512 gv = _mm512_set1_ps(g), one = _mm512_set1_ps(1.0f);
  for (int64_t d = 0; d < H; d += 16) {
    const __mmask16 m = tail_mask(H - d);
    const __m512 s = sigmoid512(_mm512_add_ps(_mm512_maskz_loadu_ps(m, q + d), _mm512_maskz_loadu_ps(m, k + d)));
    const __m512 gs = _mm512_mul_ps(gv, s);
    _mm512_mask_storeu_ps(dw + d, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dw + d), gs));
    const __m512 ds = _mm512_mul_ps(_mm512_mul_ps(gs, _mm512_maskz_loadu_ps(m, w + d)), _mm512_sub_ps(one, s));
    _mm512_mask_storeu_ps(dq + d, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dq + d), ds));
    _mm512_mask_storeu_ps(dk + d, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dk + d), ds));
  }
}

ScoreFn score_fn() {
  switch (simd_level()) {
    case SimdLevel::Avx512: return score_avx512;
    case SimdLevel::Avx2: return score_avx2;
    default: return score_scalar;
  }
}

PairBackwardFn pair_backward_fn() {
  switch (simd_level()) {
    case SimdLevel::Avx512: return pair_backward_avx512;
    case SimdLevel::Avx2: return pair_backward_avx2;
    default: return pair_backward_scalar;
  }
}

// rows per task: about 64k unit evaluations each
int64_t grain_for(int64_t per_row) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, per_row)); }

}  // namespace

void narm_attention_forward(const float* q, const float* k, const float* w, const int32_t* mask, float* alpha, int64_t B,
                            int64_t T, int64_t L, int64_t H) {
  const ScoreFn score = score_fn();
  parallel_for(B * T, grain_for(L * H), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / T, p = narm_query_position(r % T, T, L);
      const float* qr = q + r * H;
      float* out = alpha + r * L;
      for (int64_t j = 0; j < L; ++j) {
        out[j] = j <= p && mask[b * L + j] != 0 ? score(qr, k + (b * L + j) * H, w, H) : 0.0f;
      }
    }
  });
}

void narm_attention_backward(const float* q, const float* k, const float* w, const int32_t* mask, const float* dalpha,
                             float* dq, float* dk, float* dw, int64_t B, int64_t T, int64_t L, int64_t H) {
  const PairBackwardFn pair = pair_backward_fn();
  std::memset(dq, 0, sizeof(float) * (size_t)(B * T * H));
  std::memset(dk, 0, sizeof(float) * (size_t)(B * L * H));
  std::vector<float> dw_rows((size_t)(B * H), 0.0f);
  parallel_for(B, grain_for(T * L * H), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      for (int64_t t = 0; t < T; ++t) {
        const int64_t r = b * T + t, p = narm_query_position(t, T, L);
        for (int64_t j = 0; j <= p && j < L; ++j) {
          const float g = dalpha[r * L + j];
          if (mask[b * L + j] == 0) continue;
          pair(g, q + r * H, k + (b * L + j) * H, w, dq + r * H, dk + (b * L + j) * H, dw_rows.data() + b * H, H);
        }
      }
    }
  });
  std::fill(dw, dw + H, 0.0f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < H; ++d) dw[d] += dw_rows[(size_t)(b * H + d)];
}

}  // namespace seqfair
