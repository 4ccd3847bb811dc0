// CPU drivers of the row-wise kernels. The per-row math lives in native/include/seqfair/
// (layer_norm.h, gelu.h, softmax.h) and is shared with the CUDA kernels; this file splits rows
// over the thread pool, does the deterministic cross-row reductions of LayerNorm's parameter
// gradients, and has vector versions of the hot loops: LayerNorm rows (AVX2+FMA, float lanes, two
// passes, parameter-gradient partials in double), GELU (AVX2 and AVX-512) and softmax (the vector
// exp of cpu/vmath.h).
//   layer_norm: x (rows,D) -> y (rows,D), mean (rows), rstd (rows); backward -> dx, dGamma (D), dBeta (D)
//   gelu: element-wise, n values;  softmax: (rows, C)
//
// Vector GELU: Φ(x) = ½·erfc(−x/√2) with erfc from Numerical Recipes' Chebyshev fit
//   erfc(u) = t·exp(−u² − 1.26551223 + t·P(t)),  t = 1/(1 + |u|/2),  u ≥ 0  (2 − that for u < 0),
// whose *relative* error is below 1.2e-7 everywhere, so the far negative tail (x·Φ(x) for
// x ≈ −5…−13) keeps its relative accuracy in float; φ(x) = exp(−x²/2)/√(2π); exp is the Cephes
// polynomial of cpu/vmath.h. Measured against the double reference: ≤ ~1e-6 relative, far inside
// the golden tolerance (rtol 1e-5, atol 3e-6). Every element goes through the same vector code
// (the tail of the array through a padded buffer), so results do not depend on how the range is
// split over threads; the scalar fallback (no AVX2) uses the double formula of seqfair/gelu.h.
#include "cpu/rowwise.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/parallel.h"
#include "cpu/simd.h"
#include "cpu/vmath.h"
#include "seqfair/gelu.h"
#include "seqfair/layer_norm.h"
#include "seqfair/softmax.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace seqfair {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// AVX2 LayerNorm rows (the scalar fallback is seqfair/layer_norm.h in double): the header's element
// formulas (layer_norm_elem, layer_norm_dx_elem; the tails call them) with Acc = float lanes, two
// passes, so rows like 1000 + N(0,1) keep their variance (FORMAT.md 4.2: ~5e-4 worst there in
// float32 against a 3e-3 tolerance; ≤ ~1e-6 relative on ordinary rows).
__attribute__((target("avx2,fma"))) inline float sum256(const float* x, int64_t D) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 16 <= D; d += 16) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + d));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + d + 8));
  }
  for (; d + 8 <= D; d += 8) a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + d));
  float s = vm::hsum256(_mm256_add_ps(a0, a1));
  for (; d < D; ++d) s += x[d];
  return s;
}

__attribute__((target("avx2,fma"))) void ln_forward_row_avx2(const float* x, const float* gamma, const float* beta,
                                                             float* y, int64_t D, float eps, float* mean_out,
                                                             float* rstd_out) {
  const float mu = sum256(x, D) / (float)D;
  const __m256 muv = _mm256_set1_ps(mu);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 16 <= D; d += 16) {
    const __m256 c0 = _mm256_sub_ps(_mm256_loadu_ps(x + d), muv), c1 = _mm256_sub_ps(_mm256_loadu_ps(x + d + 8), muv);
    a0 = _mm256_fmadd_ps(c0, c0, a0);
    a1 = _mm256_fmadd_ps(c1, c1, a1);
  }
  for (; d + 8 <= D; d += 8) {
    const __m256 c0 = _mm256_sub_ps(_mm256_loadu_ps(x + d), muv);
    a0 = _mm256_fmadd_ps(c0, c0, a0);
  }
  float ss = vm::hsum256(_mm256_add_ps(a0, a1));
  for (; d < D; ++d) ss += (x[d] - mu) * (x[d] - mu);
  const float rstd = (float)(1.0 / std::sqrt((double)ss / (double)D + (double)eps));
  const __m256 rv = _mm256_set1_ps(rstd);
  for (d = 0; d + 8 <= D; d += 8) {
    const __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + d), muv), rv);
    _mm256_storeu_ps(y + d, _mm256_fmadd_ps(t, _mm256_loadu_ps(gamma + d), _mm256_loadu_ps(beta + d)));
  }
  for (; d < D; ++d) y[d] = layer_norm_elem<float>(x[d], mu, rstd, gamma[d], beta[d]);
  *mean_out = mu;
  *rstd_out = rstd;
}

// dx of one row, and dγ += dy·x̂, dβ += dy into double accumulators
__attribute__((target("avx2,fma"))) void ln_backward_row_avx2(const float* x, const float* gamma, float mean,
                                                              float rstd, const float* dy, float* dx, double* dgamma,
                                                              double* dbeta, int64_t D) {
  const __m256 muv = _mm256_set1_ps(mean), rv = _mm256_set1_ps(rstd);
  __m256 sg = _mm256_setzero_ps(), sgx = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 8 <= D; d += 8) {
    const __m256 dyv = _mm256_loadu_ps(dy + d);
    const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + d), muv), rv);
    const __m256 g = _mm256_mul_ps(dyv, _mm256_loadu_ps(gamma + d));
    sg = _mm256_add_ps(sg, g);
    sgx = _mm256_fmadd_ps(g, xh, sgx);
    const __m256 pg = _mm256_mul_ps(dyv, xh);
    const __m256d pg_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(pg));
    const __m256d pg_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(pg, 1));
    const __m256d dy_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(dyv));
    const __m256d dy_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(dyv, 1));
    _mm256_storeu_pd(dgamma + d, _mm256_add_pd(_mm256_loadu_pd(dgamma + d), pg_lo));
    _mm256_storeu_pd(dgamma + d + 4, _mm256_add_pd(_mm256_loadu_pd(dgamma + d + 4), pg_hi));
    _mm256_storeu_pd(dbeta + d, _mm256_add_pd(_mm256_loadu_pd(dbeta + d), dy_lo));
    _mm256_storeu_pd(dbeta + d + 4, _mm256_add_pd(_mm256_loadu_pd(dbeta + d + 4), dy_hi));
  }
  float g_sum = vm::hsum256(sg), gx_sum = vm::hsum256(sgx);
  for (int64_t t = d; t < D; ++t) {
    const float xh = (x[t] - mean) * rstd, g = dy[t] * gamma[t];
    g_sum += g;
    gx_sum += g * xh;
    dgamma[t] += (double)(dy[t] * xh);
    dbeta[t] += (double)dy[t];
  }
  const float mg = g_sum / (float)D, mgx = gx_sum / (float)D;
  const __m256 mgv = _mm256_set1_ps(mg), mgxv = _mm256_set1_ps(mgx);
  for (d = 0; d + 8 <= D; d += 8) {
    const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + d), muv), rv);
    const __m256 g = _mm256_mul_ps(_mm256_loadu_ps(dy + d), _mm256_loadu_ps(gamma + d));
    const __m256 inner = _mm256_fnmadd_ps(xh, mgxv, _mm256_sub_ps(g, mgv));
    _mm256_storeu_ps(dx + d, _mm256_mul_ps(rv, inner));
  }
  for (; d < D; ++d) dx[d] = layer_norm_dx_elem<float>(x[d], mean, rstd, dy[d] * gamma[d], mg, mgx);
}
#endif

// rows per task so that a task has roughly `work` elements
int64_t row_grain(int64_t D, int64_t work = 16384) { return std::max<int64_t>(1, work / std::max<int64_t>(1, D)); }

}  // namespace

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t D, float eps) {
  if (rows <= 0 || D <= 0) return;
  const bool avx2 = simd_level() != SimdLevel::Scalar;
  parallel_for(rows, row_grain(D), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
#if defined(__x86_64__) || defined(__i386__)
      if (avx2) {
        ln_forward_row_avx2(x + r * D, gamma, beta, y + r * D, D, eps, mean + r, rstd + r);
        continue;
      }
#endif
      layer_norm_row_forward<double>(x + r * D, gamma, beta, y + r * D, D, eps, mean + r, rstd + r);
    }
  });
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dGamma, float* dBeta, int64_t rows, int64_t D) {
  if (D <= 0) return;
  if (rows <= 0) {
    std::fill(dGamma, dGamma + D, 0.0f);
    std::fill(dBeta, dBeta + D, 0.0f);
    return;
  }
  // The rows are cut into a number of chunks that depends only on (rows, D), never on the thread
  // count; each chunk sums its rows' dγ/dβ in row order into its own buffer, and the buffers are
  // added in chunk order. So the result is the same for 1 or N threads.
  const int64_t min_rows = std::max<int64_t>(8, 4096 / D);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(64, rows / min_rows));
  const int64_t per = (rows + chunks - 1) / chunks;
  std::vector<double> partial((size_t)(chunks * 2 * D), 0.0);
  const bool avx2 = simd_level() != SimdLevel::Scalar;
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double* pg = partial.data() + c * 2 * D;
      double* pb = pg + D;
      const int64_t r1 = std::min(rows, (c + 1) * per);
      for (int64_t r = c * per; r < r1; ++r) {
#if defined(__x86_64__) || defined(__i386__)
        if (avx2) {
          ln_backward_row_avx2(x + r * D, gamma, mean[r], rstd[r], dy + r * D, dx + r * D, pg, pb, D);
          continue;
        }
#endif
        layer_norm_row_param_grads<double>(x + r * D, mean[r], rstd[r], dy + r * D, pg, pb, D);
        layer_norm_row_backward_dx<double>(x + r * D, gamma, mean[r], rstd[r], dy + r * D, dx + r * D, D);
      }
    }
  });
  parallel_for(D, 256, [&](int64_t d0, int64_t d1) {
    for (int64_t d = d0; d < d1; ++d) {
      double g = 0, b = 0;
      for (int64_t c = 0; c < chunks; ++c) {
        g += partial[(size_t)(c * 2 * D + d)];
        b += partial[(size_t)(c * 2 * D + D + d)];
      }
      dGamma[d] = (float)g;
      dBeta[d] = (float)b;
    }
  });
}

namespace {

// NR erfc coefficients, innermost first: P(t) = c0 + t(c1 + t(c2 + … ))
constexpr float kErfc[10] = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
                             0.27886807f,  -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f};
constexpr float kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;

#if defined(__x86_64__) || defined(__i386__)
// Φ(x) for 8 lanes
__attribute__((target("avx2,fma"))) inline __m256 phi_cdf256(__m256 x) {
  const __m256 u = _mm256_mul_ps(x, _mm256_set1_ps(-kInvSqrt2));
  const __m256 z = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), u);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
  __m256 p = _mm256_set1_ps(kErfc[9]);
  for (int i = 8; i >= 0; --i) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(kErfc[i]));
  const __m256 e = _mm256_mul_ps(t, vm::exp256(_mm256_fnmadd_ps(z, z, p)));  // erfc(|u|)
  // erfc(u) = e for u >= 0 (x <= 0), 2 - e otherwise
  const __m256 pos = _mm256_cmp_ps(u, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 erfc = _mm256_blendv_ps(e, _mm256_sub_ps(_mm256_set1_ps(2.0f), e), pos);
  return _mm256_mul_ps(_mm256_set1_ps(0.5f), erfc);
}

__attribute__((target("avx512f"))) inline __m512 phi_cdf512(__m512 x) {
  const __m512 u = _mm512_mul_ps(x, _mm512_set1_ps(-kInvSqrt2));
  const __m512 z = _mm512_abs_ps(u);
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_set1_ps(kErfc[9]);
  for (int i = 8; i >= 0; --i) p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(kErfc[i]));
  const __m512 e = _mm512_mul_ps(t, vm::exp512(_mm512_fnmadd_ps(z, z, p)));
  const __mmask16 pos = _mm512_cmp_ps_mask(u, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 erfc = _mm512_mask_blend_ps(pos, e, _mm512_sub_ps(_mm512_set1_ps(2.0f), e));
  return _mm512_mul_ps(_mm512_set1_ps(0.5f), erfc);
}

// y = x Φ(x)  (dy == nullptr)   or   dx = dy (Φ(x) + x φ(x))
__attribute__((target("avx2,fma"))) inline __m256 gelu256(__m256 x, const float* dy_or_null, __m256 dy) {
  const __m256 cdf = phi_cdf256(x);
  if (!dy_or_null) return _mm256_mul_ps(x, cdf);
  const __m256 pdf = _mm256_mul_ps(_mm256_set1_ps(kInvSqrt2Pi),
                                   vm::exp256(_mm256_mul_ps(_mm256_set1_ps(-0.5f), _mm256_mul_ps(x, x))));
  return _mm256_mul_ps(dy, _mm256_fmadd_ps(x, pdf, cdf));
}

__attribute__((target("avx2,fma"))) void gelu_range_avx2(const float* x, const float* dy, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 d = dy ? _mm256_loadu_ps(dy + i) : _mm256_setzero_ps();
    _mm256_storeu_ps(out + i, gelu256(_mm256_loadu_ps(x + i), dy, d));
  }
  if (i < n) {
    alignas(32) float tx[8] = {0}, td[8] = {0}, to[8];
    for (int64_t l = 0; l < n - i; ++l) {
      tx[l] = x[i + l];
      if (dy) td[l] = dy[i + l];
    }
    _mm256_store_ps(to, gelu256(_mm256_load_ps(tx), dy, _mm256_load_ps(td)));
    for (int64_t l = 0; l < n - i; ++l) out[i + l] = to[l];
  }
}

__attribute__((target("avx512f"))) inline __m512 gelu512(__m512 x, const float* dy_or_null, __m512 dy) {
  const __m512 cdf = phi_cdf512(x);
  if (!dy_or_null) return _mm512_mul_ps(x, cdf);
  const __m512 pdf = _mm512_mul_ps(_mm512_set1_ps(kInvSqrt2Pi),
                                   vm::exp512(_mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(x, x))));
  return _mm512_mul_ps(dy, _mm512_fmadd_ps(x, pdf, cdf));
}

__attribute__((target("avx512f"))) void gelu_range_avx512(const float* x, const float* dy, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 d = dy ? _mm512_loadu_ps(dy + i) : _mm512_setzero_ps();
    _mm512_storeu_ps(out + i, gelu512(_mm512_loadu_ps(x + i), dy, d));
  }
  if (i < n) {
    const __mmask16 mask = (__mmask16)((1u << (n - i)) - 1u);
    const __m512 xv = _mm512_maskz_loadu_ps(mask, x + i);
    const __m512 d = dy ? _mm512_maskz_loadu_ps(mask, dy + i) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(out + i, mask, gelu512(xv, dy, d));
  }
}
#endif

// Element-wise GELU (dy == nullptr) or its backward over [0, n), split on 64-element boundaries.
void gelu_dispatch(const float* x, const float* dy, float* out, int64_t n) {
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const SimdLevel level = simd_level();
  parallel_for(blocks, 64, [&](int64_t b0, int64_t b1) {
    const int64_t i0 = b0 * kBlock, i1 = std::min(n, b1 * kBlock);
#if defined(__x86_64__) || defined(__i386__)
    if (level == SimdLevel::Avx512) {
      gelu_range_avx512(x + i0, dy ? dy + i0 : nullptr, out + i0, i1 - i0);
      return;
    }
    if (level == SimdLevel::Avx2) {
      gelu_range_avx2(x + i0, dy ? dy + i0 : nullptr, out + i0, i1 - i0);
      return;
    }
#endif
    for (int64_t i = i0; i < i1; ++i) out[i] = dy ? gelu_backward_elem(x[i], dy[i]) : gelu_forward_elem(x[i]);
  });
}

}  // namespace

void gelu_forward(const float* x, float* y, int64_t n) { gelu_dispatch(x, nullptr, y, n); }

void gelu_backward(const float* x, const float* dy, float* dx, int64_t n) { gelu_dispatch(x, dy, dx, n); }

void softmax_forward(const float* x, float* y, int64_t rows, int64_t C) {
  if (C <= 0) return;
  parallel_for(rows, row_grain(C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      const float mx = vm::max_of(xr, C);
      if (mx == -INFINITY) {  // every entry -inf: zeros, as softmax_row_forward
        std::fill(yr, yr + C, 0.0f);
        continue;
      }
      // e = exp(x - max) by the vector exp (within ~2 ulp of expf), then softmax_row_forward's
      // Σ in double and scaling (softmax_scale_elem, the CUDA kernel's formula)
      vm::exp_shift_sum(xr, yr, C, mx);
      double sum = 0;
      for (int64_t c = 0; c < C; ++c) sum += yr[c];
      const double inv = 1.0 / sum;
      for (int64_t c = 0; c < C; ++c) yr[c] = softmax_scale_elem<double>(yr[c], inv);
    }
  });
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t C) {
  if (C <= 0) return;
  parallel_for(rows, row_grain(C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) softmax_row_backward<double>(y + r * C, dy + r * C, dx + r * C, C);
  });
}

}  // namespace seqfair

#pragma GCC diagnostic pop
