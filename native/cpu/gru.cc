// CPU driver of the fused GRU (per-unit math: seqfair/gru_cell.h; FORMAT.md 4.5).
//
// Forward: the input projections of all steps are ONE multithreaded GEMM
//   gi (B·L, 3H) = x (B·L, I) · W_ih^T + b_ih,
// then the recurrence walks t = 0..L-1: per step one multithreaded GEMM for the whole batch,
//   gh (B, 3H) = h_{t-1} (B, H) · W_hh^T
// (W_hh is packed once per step, not once per row block), then the element-wise cell over the
// batch rows in parallel (vectorised sigmoid/tanh; seqfair/gru_cell.h is the scalar definition).
// The GEMM's summation order depends only on its k dimension, so the result is the same for any
// thread count.
// Backward (BPTT): t = L-1..0: the cell backward over the batch rows in parallel gives dgi_t and
// dgh_t (kept for all steps) and the direct part dh·z of ∂L/∂h_{t-1}; one GEMM adds
// dgh_t (B, 3H) · W_hh. Afterwards every weight gradient is one GEMM over all B·L steps
// (deterministic: no per-step atomics):
//   dx = dgi · W_ih,  dW_ih = dgi^T · x,  dW_hh = dgh^T · h_prev,  db = column sums (in double).
#include "cpu/gru.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/gemm_tile.h"
#include "cpu/parallel.h"
#include "cpu/simd.h"
#include "cpu/vmath.h"
#include "seqfair/gru_cell.h"

namespace seqfair {
namespace {

// out (cols) = Σ_r A[r, :] in row order, accumulated in double; parallel over column blocks
void column_sums(const float* A, int64_t rows, int64_t cols, float* out) {
  constexpr int64_t kCols = 64;
  parallel_for((cols + kCols - 1) / kCols, 1, [&](int64_t b0, int64_t b1) {
    double acc[kCols];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t c0 = blk * kCols, cn = std::min(kCols, cols - c0);
      std::fill(acc, acc + cn, 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        const float* a = A + r * cols + c0;
        for (int64_t c = 0; c < cn; ++c) acc[c] += a[c];
      }
      for (int64_t c = 0; c < cn; ++c) out[c0 + c] = (float)acc[c];
    }
  });
}

// The forward cell of one sequence row over units [u0, H) with the scalar definition.
inline void cell_row_scalar(int64_t u0, int64_t H, const float* gi, const float* gh, const float* b_hh, float* h,
                            float* o, float* c) {
  for (int64_t u = u0; u < H; ++u) {
    const float ghn = gh[2 * H + u] + b_hh[2 * H + u];
    const float hn = gru_cell_forward(gi[u], gi[H + u], gi[2 * H + u], gh[u] + b_hh[u], gh[H + u] + b_hh[H + u], ghn,
                                      h[u], c + u, c + H + u, c + 2 * H + u);
    c[3 * H + u] = ghn;
    o[u] = hn;
    h[u] = hn;
  }
}

// Vector cells: σ(x) = 1/(1+e^-x), tanh(x) = 1 - 2/(e^{2x}+1) (absolute error ~1e-7, exact
// limits ±1 and 0/1 at the extremes, since the vector exp saturates and flushes).
__attribute__((target("avx2,fma"))) void cell_row_avx2(int64_t H, const float* gi, const float* gh, const float* b_hh,
                                                       float* h, float* o, float* c) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), zero = _mm256_setzero_ps();
  int64_t u = 0;
  for (; u + 8 <= H; u += 8) {
    const __m256 ar = _mm256_add_ps(_mm256_loadu_ps(gi + u), _mm256_add_ps(_mm256_loadu_ps(gh + u), _mm256_loadu_ps(b_hh + u)));
    const __m256 az = _mm256_add_ps(_mm256_loadu_ps(gi + H + u),
                                    _mm256_add_ps(_mm256_loadu_ps(gh + H + u), _mm256_loadu_ps(b_hh + H + u)));
    const __m256 ghn = _mm256_add_ps(_mm256_loadu_ps(gh + 2 * H + u), _mm256_loadu_ps(b_hh + 2 * H + u));
    const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, vm::exp256(_mm256_sub_ps(zero, ar))));
    const __m256 z = _mm256_div_ps(one, _mm256_add_ps(one, vm::exp256(_mm256_sub_ps(zero, az))));
    const __m256 an = _mm256_add_ps(_mm256_loadu_ps(gi + 2 * H + u), _mm256_mul_ps(r, ghn));
    const __m256 n = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(vm::exp256(_mm256_mul_ps(two, an)), one)));
    const __m256 hp = _mm256_loadu_ps(h + u);
    const __m256 hn = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(one, z), n), _mm256_mul_ps(z, hp));
    _mm256_storeu_ps(c + u, r);
    _mm256_storeu_ps(c + H + u, z);
    _mm256_storeu_ps(c + 2 * H + u, n);
    _mm256_storeu_ps(c + 3 * H + u, ghn);
    _mm256_storeu_ps(o + u, hn);
    _mm256_storeu_ps(h + u, hn);
  }
  cell_row_scalar(u, H, gi, gh, b_hh, h, o, c);
}

__attribute__((target("avx512f"))) void cell_row_avx512(int64_t H, const float* gi, const float* gh,
                                                        const float* b_hh, float* h, float* o, float* c) {
  const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f), zero = _mm512_setzero_ps();
  int64_t u = 0;
  for (; u + 16 <= H; u += 16) {
    const __m512 ar = _mm512_add_ps(_mm512_loadu_ps(gi + u), _mm512_add_ps(_mm512_loadu_ps(gh + u), _mm512_loadu_ps(b_hh + u)));
    const __m512 az = _mm512_add_ps(_mm512_loadu_ps(gi + H + u),
                                    _mm512_add_ps(_mm512_loadu_ps(gh + H + u), _mm512_loadu_ps(b_hh + H + u)));
    const __m512 ghn = _mm512_add_ps(_mm512_loadu_ps(gh + 2 * H + u), _mm512_loadu_ps(b_hh + 2 * H + u));
    const __m512 r = _mm512_div_ps(one, _mm512_add_ps(one, vm::exp512(_mm512_sub_ps(zero, ar))));
    const __m512 z = _mm512_div_ps(one, _mm512_add_ps(one, vm::exp512(_mm512_sub_ps(zero, az))));
    const __m512 an = _mm512_add_ps(_mm512_loadu_ps(gi + 2 * H + u), _mm512_mul_ps(r, ghn));
    const __m512 n = _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(vm::exp512(_mm512_mul_ps(two, an)), one)));
    const __m512 hp = _mm512_loadu_ps(h + u);
    const __m512 hn = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(one, z), n), _mm512_mul_ps(z, hp));
    _mm512_storeu_ps(c + u, r);
    _mm512_storeu_ps(c + H + u, z);
    _mm512_storeu_ps(c + 2 * H + u, n);
    _mm512_storeu_ps(c + 3 * H + u, ghn);
    _mm512_storeu_ps(o + u, hn);
    _mm512_storeu_ps(h + u, hn);
  }
  cell_row_scalar(u, H, gi, gh, b_hh, h, o, c);
}

// rows per task of the element-wise loops (any split gives the same numbers)
int64_t row_grain(int64_t H) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, H)); }

}  // namespace

void gru_forward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* b_ih,
                 const float* b_hh, float* out, float* cache, int64_t B, int64_t L, int64_t I, int64_t H) {
  if (B == 0 || L == 0 || H == 0) return;
  const int64_t G = 3 * H, BL = B * L;
  std::vector<float> gi((size_t)(BL * G));
  gemm_full(x, w_ih, gi.data(), BL, G, I, false, true);
  parallel_for(BL, std::max<int64_t>(1, 16384 / G), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* g = gi.data() + r * G;
      for (int64_t c = 0; c < G; ++c) g[c] += b_ih[c];
    }
  });
  std::vector<float> h(h0, h0 + B * H);  // running state h_{t-1}, (B,H)
  std::vector<float> gh((size_t)(B * G));
  const SimdLevel level = simd_level();
  for (int64_t t = 0; t < L; ++t) {
    gemm_full(h.data(), w_hh, gh.data(), B, G, H, false, true);
    parallel_for(B, row_grain(H), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const float* gir = gi.data() + (b * L + t) * G;
        const float* ghr = gh.data() + b * G;
        float* hb = h.data() + b * H;
        float* ob = out + (b * L + t) * H;
        float* cb = cache + (b * L + t) * 4 * H;
        if (level == SimdLevel::Avx512) cell_row_avx512(H, gir, ghr, b_hh, hb, ob, cb);
        else if (level == SimdLevel::Avx2) cell_row_avx2(H, gir, ghr, b_hh, hb, ob, cb);
        else cell_row_scalar(0, H, gir, ghr, b_hh, hb, ob, cb);
      }
    });
  }
}

void gru_backward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* out,
                  const float* cache, const float* dout, float* dx, float* dh0, float* dw_ih, float* dw_hh,
                  float* db_ih, float* db_hh, int64_t B, int64_t L, int64_t I, int64_t H) {
  const int64_t G = 3 * H, BL = B * L;
  std::vector<float> dgi((size_t)(BL * G)), dgh((size_t)(BL * G));
  // ∂L/∂h_t = dh (the GEMM part, from step t+1) + direct (dh_{t+1}·z_{t+1}); both 0 at t = L-1
  std::vector<float> dh((size_t)(B * H), 0.0f), direct((size_t)(B * H), 0.0f), gstep((size_t)(B * G));
  if (H > 0) {
    for (int64_t t = L - 1; t >= 0; --t) {
      parallel_for(B, row_grain(H), [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          const float* hp = t == 0 ? h0 + b * H : out + (b * L + t - 1) * H;
          const float* cb = cache + (b * L + t) * 4 * H;
          const float* dob = dout + (b * L + t) * H;
          float* dhb = dh.data() + b * H;
          float* dirb = direct.data() + b * H;
          float* gi_row = dgi.data() + (b * L + t) * G;
          float* gh_row = gstep.data() + b * G;
          for (int64_t u = 0; u < H; ++u) {
            const float d = dhb[u] + dirb[u] + dob[u];
            float dgi_r, dgi_z, dgi_n, dgh_n;
            dirb[u] = gru_cell_backward(d, cb[u], cb[H + u], cb[2 * H + u], cb[3 * H + u], hp[u], &dgi_r, &dgi_z,
                                        &dgi_n, &dgh_n);
            gi_row[u] = dgi_r;
            gi_row[H + u] = dgi_z;
            gi_row[2 * H + u] = dgi_n;
            gh_row[u] = dgi_r;
            gh_row[H + u] = dgi_z;
            gh_row[2 * H + u] = dgh_n;
          }
          std::memcpy(dgh.data() + (b * L + t) * G, gh_row, sizeof(float) * (size_t)G);
        }
      });
      // the W_hh part of ∂L/∂h_{t-1}
      gemm_full(gstep.data(), w_hh, dh.data(), B, H, G, false, false);
    }
  }
  for (int64_t i = 0; i < B * H; ++i) dh0[i] = dh[(size_t)i] + direct[(size_t)i];

  // weight gradients over all steps at once
  gemm_full(dgi.data(), w_ih, dx, BL, I, G, false, false);
  gemm_full(dgi.data(), x, dw_ih, G, I, BL, true, false);
  std::vector<float> hprev((size_t)(BL * H));
  parallel_for(B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      if (L == 0) continue;
      std::memcpy(hprev.data() + b * L * H, h0 + b * H, sizeof(float) * (size_t)H);
      std::memcpy(hprev.data() + (b * L + 1) * H, out + b * L * H, sizeof(float) * (size_t)((L - 1) * H));
    }
  });
  gemm_full(dgh.data(), hprev.data(), dw_hh, G, H, BL, true, false);
  column_sums(dgi.data(), BL, G, db_ih);
  column_sums(dgh.data(), BL, G, db_hh);
}

}  // namespace seqfair
