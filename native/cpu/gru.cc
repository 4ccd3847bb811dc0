// CPU driver of the fused GRU (per-unit math: seqfair/gru_cell.h; FORMAT.md 4.5).
//
// Forward: the input projections of all steps are ONE multithreaded GEMM
//   gi (B·L, 3H) = x (B·L, I) · W_ih^T   (+ b_ih as the cell reads it).
// The recurrence couples the steps of one sequence but never two sequences, so each task owns a
// range of batch rows and walks all L steps over it without meeting the other tasks (no barrier
// per step). Per step it works strip by strip (MR rows, the GEMM micro-kernel's height):
//   gh (MR, 3H) = h_{t-1} (MR, H) · W_hh^T   (W_hh^T made once per call; a product of at most
//                                             MR rows reads it in place, unpacked)
// then the element-wise cell of those rows while gh is in L1 (vectorised sigmoid/tanh;
// seqfair/gru_cell.h is the scalar definition).
// Backward (BPTT), with the same row ownership, t = L-1..0: the cell backward of a strip gives
// dgi_t and dgh_t (kept for all steps) and the direct part dh·z of ∂L/∂h_{t-1}; one strip product
// dgh_t (MR, 3H) · W_hh gives the rest. Afterwards every weight gradient is one GEMM over all B·L
// steps (deterministic: no per-step atomics):
//   dx = dgi · W_ih,  dW_ih = dgi^T · x,  dW_hh = dgh^T · h_prev,  db = column sums (in double).
// dgh and h_prev are stored time-major ((t, b) rows), so a strip of dgh_t is contiguous and is the
// strip product's operand as it stands. The bias gradients are column sums of dgi and dgh, each
// strip's in double as its rows are made, then the strips' in strip order (strips are MR rows
// whatever the thread count); dgh's r and z columns equal dgi's, so db_hh shares those sums.
// Every output element is computed by the same operations in the same order whatever the strip
// and task boundaries are (a GEMM's sum runs over k only), so results do not depend on the thread
// count. The big temporaries (gi, dgi, dgh, h_prev) live in per-thread buffers reused across
// calls: no allocation, zeroing or page faults per call.
#include "cpu/gru.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/gemm_tile.h"
#include "cpu/parallel.h"
#include "cpu/simd.h"
#include "cpu/vmath.h"
#include "cpu/workspace.h"
#include "seqfair/gru_cell.h"

namespace seqfair {
namespace {

// rows of a recurrent strip product: the GEMM's micro-kernel height MR (cpu/gemm.cc make_plan),
// so that the product reads W_hh^T / W_hh in place instead of packing it every step
int64_t strip_rows() {
  switch (simd_level()) {
    case SimdLevel::Avx512: return 14;
    case SimdLevel::Avx2: return 6;
    default: return 4;
  }
}

// acc (n) += row, in double: the bias gradients' column sums, per strip of rows while the row
// is still in L1 (a separate pass over dgi and dgh would read both from memory again)
inline void add_row_f64_scalar(const float* row, int64_t n, double* acc) {
  for (int64_t u = 0; u < n; ++u) acc[u] += row[u];
}

__attribute__((target("avx2"))) void add_row_f64_avx2(const float* row, int64_t n, double* acc) {
  int64_t u = 0;
  for (; u + 4 <= n; u += 4)
    _mm256_storeu_pd(acc + u, _mm256_add_pd(_mm256_loadu_pd(acc + u), _mm256_cvtps_pd(_mm_loadu_ps(row + u))));
  for (; u < n; ++u) acc[u] += row[u];
}

// ---- forward cell ------------------------------------------------------------------------------

// The forward cell of one sequence row over units [u0, H) with the scalar definition.
inline void cell_row_scalar(int64_t u0, int64_t H, const float* gi, const float* b_ih, const float* gh,
                            const float* b_hh, float* h, float* o, float* c) {
  for (int64_t u = u0; u < H; ++u) {
    const float ghn = gh[2 * H + u] + b_hh[2 * H + u];
    const float hn = gru_cell_forward(gi[u] + b_ih[u], gi[H + u] + b_ih[H + u], gi[2 * H + u] + b_ih[2 * H + u],
                                      gh[u] + b_hh[u], gh[H + u] + b_hh[H + u], ghn, h[u], c + u, c + H + u,
                                      c + 2 * H + u);
    c[3 * H + u] = ghn;
    o[u] = hn;
    h[u] = hn;
  }
}
// Vector cells: σ(x) = 1/(1+e^-x), tanh(x) = 1 - 2/(e^{2x}+1) (absolute error ~1e-7, exact
// limits ±1 and 0/1 at the extremes, since the vector exp saturates and flushes).
__attribute__((target("avx2,fma"))) void cell_row_avx2(int64_t H, const float* gi, const float* b_ih, const float* gh,
                                                       const float* b_hh, float* h, float* o, float* c) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), zero = _mm256_setzero_ps();
  int64_t u = 0;
  for (; u + 8 <= H; u += 8) {
    const __m256 ar = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(gi + u), _mm256_loadu_ps(b_ih + u)),
                                    _mm256_add_ps(_mm256_loadu_ps(gh + u), _mm256_loadu_ps(b_hh + u)));
    const __m256 az = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(gi + H + u), _mm256_loadu_ps(b_ih + H + u)),
                                    _mm256_add_ps(_mm256_loadu_ps(gh + H + u), _mm256_loadu_ps(b_hh + H + u)));
    const __m256 ghn = _mm256_add_ps(_mm256_loadu_ps(gh + 2 * H + u), _mm256_loadu_ps(b_hh + 2 * H + u));
    const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, vm::exp256(_mm256_sub_ps(zero, ar))));
    const __m256 z = _mm256_div_ps(one, _mm256_add_ps(one, vm::exp256(_mm256_sub_ps(zero, az))));
    const __m256 gin = _mm256_add_ps(_mm256_loadu_ps(gi + 2 * H + u), _mm256_loadu_ps(b_ih + 2 * H + u));
    const __m256 an = _mm256_add_ps(gin, _mm256_mul_ps(r, ghn));
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
  cell_row_scalar(u, H, gi, b_ih, gh, b_hh, h, o, c);
}

__attribute__((target("avx512f"))) void cell_row_avx512(int64_t H, const float* gi, const float* b_ih, const float* gh,
                                                        const float* b_hh, float* h, float* o, float* c) {
  const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f), zero = _mm512_setzero_ps();
  int64_t u = 0;
  for (; u + 16 <= H; u += 16) {
    const __m512 ar = _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(gi + u), _mm512_loadu_ps(b_ih + u)),
                                    _mm512_add_ps(_mm512_loadu_ps(gh + u), _mm512_loadu_ps(b_hh + u)));
    const __m512 az = _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(gi + H + u), _mm512_loadu_ps(b_ih + H + u)),
                                    _mm512_add_ps(_mm512_loadu_ps(gh + H + u), _mm512_loadu_ps(b_hh + H + u)));
    const __m512 ghn = _mm512_add_ps(_mm512_loadu_ps(gh + 2 * H + u), _mm512_loadu_ps(b_hh + 2 * H + u));
    const __m512 r = _mm512_div_ps(one, _mm512_add_ps(one, vm::exp512(_mm512_sub_ps(zero, ar))));
    const __m512 z = _mm512_div_ps(one, _mm512_add_ps(one, vm::exp512(_mm512_sub_ps(zero, az))));
    const __m512 gin = _mm512_add_ps(_mm512_loadu_ps(gi + 2 * H + u), _mm512_loadu_ps(b_ih + 2 * H + u));
    const __m512 an = _mm512_add_ps(gin, _mm512_mul_ps(r, ghn));
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
  cell_row_scalar(u, H, gi, b_ih, gh, b_hh, h, o, c);
}


// gi is x·W_ih^T without its bias: b_ih is added here, where the row is read anyway (gi + b_ih,
// then + (gh + b_hh), the order of the reference), instead of in a separate pass over all of gi
void cell_row(SimdLevel level, int64_t H, const float* gi, const float* b_ih, const float* gh, const float* b_hh,
              float* h, float* o, float* c) {
  if (level == SimdLevel::Avx512) cell_row_avx512(H, gi, b_ih, gh, b_hh, h, o, c);
  else if (level == SimdLevel::Avx2) cell_row_avx2(H, gi, b_ih, gh, b_hh, h, o, c);
  else cell_row_scalar(0, H, gi, b_ih, gh, b_hh, h, o, c);
}

// ---- backward cell -----------------------------------------------------------------------------

// One row of the backward cell over units [u0, H): d = dhg + dir + dout (∂L/∂h_t); writes
// dgi (3H), dgh (3H; its r and z parts equal dgi's) and dir = d·z, the direct part of ∂L/∂h_{t-1}.
inline void cell_back_row_scalar(int64_t u0, int64_t H, const float* dhg, float* dir, const float* dout,
                                 const float* c, const float* hp, float* gi, float* gh) {
  for (int64_t u = u0; u < H; ++u) {
    const float d = dhg[u] + dir[u] + dout[u];
    float dgh_n;
    dir[u] = gru_cell_backward(d, c[u], c[H + u], c[2 * H + u], c[3 * H + u], hp[u], gi + u, gi + H + u, gi + 2 * H + u,
                               &dgh_n);
    gh[u] = gi[u];
    gh[H + u] = gi[H + u];
    gh[2 * H + u] = dgh_n;
  }
}

// The same operations 8 units at a time (compiled without FMA: the same bits as the scalar code).
__attribute__((target("avx2"))) void cell_back_row_avx2(int64_t H, const float* dhg, float* dir, const float* dout,
                                                        const float* c, const float* hp, float* gi, float* gh) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t u = 0;
  for (; u + 8 <= H; u += 8) {
    const __m256 d = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(dhg + u), _mm256_loadu_ps(dir + u)),
                                   _mm256_loadu_ps(dout + u));
    const __m256 r = _mm256_loadu_ps(c + u), z = _mm256_loadu_ps(c + H + u);
    const __m256 n = _mm256_loadu_ps(c + 2 * H + u), ghn = _mm256_loadu_ps(c + 3 * H + u);
    const __m256 dn = _mm256_mul_ps(d, _mm256_sub_ps(one, z));
    const __m256 dz = _mm256_mul_ps(d, _mm256_sub_ps(_mm256_loadu_ps(hp + u), n));
    const __m256 dan = _mm256_mul_ps(dn, _mm256_sub_ps(one, _mm256_mul_ps(n, n)));
    const __m256 dgr = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dan, ghn), r), _mm256_sub_ps(one, r));
    const __m256 dgz = _mm256_mul_ps(_mm256_mul_ps(dz, z), _mm256_sub_ps(one, z));
    _mm256_storeu_ps(gi + u, dgr);
    _mm256_storeu_ps(gi + H + u, dgz);
    _mm256_storeu_ps(gi + 2 * H + u, dan);
    _mm256_storeu_ps(gh + u, dgr);
    _mm256_storeu_ps(gh + H + u, dgz);
    _mm256_storeu_ps(gh + 2 * H + u, _mm256_mul_ps(dan, r));
    _mm256_storeu_ps(dir + u, _mm256_mul_ps(d, z));
  }
  cell_back_row_scalar(u, H, dhg, dir, dout, c, hp, gi, gh);
}

}  // namespace

void gru_forward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* b_ih,
                 const float* b_hh, float* out, float* cache, int64_t B, int64_t L, int64_t I, int64_t H) {
  if (B == 0 || L == 0 || H == 0) return;
  const int64_t G = 3 * H, BL = B * L, S = strip_rows();
  float* gi = thread_workspace(0, (size_t)(BL * G));
  gemm_full(x, w_ih, gi, BL, G, I, false, true);  // + b_ih in the cell
  float* whh_t = thread_workspace(1, (size_t)(H * G));  // W_hh^T (H, 3H)
  for (int64_t g = 0; g < G; ++g)
    for (int64_t k = 0; k < H; ++k) whh_t[k * G + g] = w_hh[g * H + k];
  const SimdLevel level = simd_level();
  const int64_t strips = (B + S - 1) / S;
  parallel_for(strips, 1, [&](int64_t s0, int64_t s1) {
    const int64_t b0 = s0 * S, b1 = std::min(B, s1 * S);
    std::vector<float> h(h0 + b0 * H, h0 + b1 * H);  // running h_{t-1} of rows [b0, b1)
    std::vector<float> gh((size_t)(S * G));
    for (int64_t t = 0; t < L; ++t) {
      for (int64_t bs = b0; bs < b1; bs += S) {
        const int64_t m = std::min(S, b1 - bs);
        gemm_tile(h.data() + (bs - b0) * H, whh_t, gh.data(), m, G, H, false, false, false);
        for (int64_t i = 0; i < m; ++i) {
          const int64_t b = bs + i;
          cell_row(level, H, gi + (b * L + t) * G, b_ih, gh.data() + i * G, b_hh, h.data() + (b - b0) * H,
                   out + (b * L + t) * H, cache + (b * L + t) * 4 * H);
        }
      }
    }
  });
}

void gru_backward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* out,
                  const float* cache, const float* dout, float* dx, float* dh0, float* dw_ih, float* dw_hh,
                  float* db_ih, float* db_hh, int64_t B, int64_t L, int64_t I, int64_t H) {
  const int64_t G = 3 * H, BL = B * L, S = strip_rows();
  float* dgi = thread_workspace(0, (size_t)(BL * G));    // (b, t) rows
  float* dgh = thread_workspace(1, (size_t)(BL * G));    // (t, b) rows
  float* hprev = thread_workspace(2, (size_t)(BL * H));  // (t, b) rows: h_{t-1} of row b
  const bool avx2 = simd_level() != SimdLevel::Scalar;
  const auto add_row = avx2 ? add_row_f64_avx2 : add_row_f64_scalar;
  const int64_t strips = (B + S - 1) / S, P = G + H;
  // per strip: Σ dgi (G columns), then Σ of dgh's n part (H columns)
  std::vector<double> partial((size_t)(strips * P), 0.0);
  parallel_for(strips, 1, [&](int64_t s0, int64_t s1) {
    const int64_t b0 = s0 * S, b1 = std::min(B, s1 * S);
    // ∂L/∂h_t of rows [b0, b1) = dhg (the W_hh product from step t+1) + dir (dh_{t+1}·z_{t+1}) + dout
    std::vector<float> dhg((size_t)((b1 - b0) * H), 0.0f), dir((size_t)((b1 - b0) * H), 0.0f);
    for (int64_t t = L - 1; t >= 0; --t) {
      for (int64_t bs = b0; bs < b1; bs += S) {
        const int64_t m = std::min(S, b1 - bs);
        double* part = partial.data() + (bs / S) * P;
        for (int64_t i = 0; i < m; ++i) {
          const int64_t b = bs + i, bt = b * L + t, tb = t * B + b;
          const float* hp = t == 0 ? h0 + b * H : out + (bt - 1) * H;
          std::memcpy(hprev + tb * H, hp, sizeof(float) * (size_t)H);
          float* dhg_b = dhg.data() + (b - b0) * H;
          float* dir_b = dir.data() + (b - b0) * H;
          const float* c = cache + bt * 4 * H;
          if (avx2) cell_back_row_avx2(H, dhg_b, dir_b, dout + bt * H, c, hp, dgi + bt * G, dgh + tb * G);
          else cell_back_row_scalar(0, H, dhg_b, dir_b, dout + bt * H, c, hp, dgi + bt * G, dgh + tb * G);
          add_row(dgi + bt * G, G, part);
          add_row(dgh + tb * G + 2 * H, H, part + G);
        }
        // the W_hh part of ∂L/∂h_{t-1} for the strip
        gemm_tile(dgh + (t * B + bs) * G, w_hh, dhg.data() + (bs - b0) * H, m, H, G, false, false, false);
      }
    }
    for (int64_t i = 0; i < (b1 - b0) * H; ++i) dh0[b0 * H + i] = dhg[(size_t)i] + dir[(size_t)i];
  });

  // weight gradients over all steps at once
  gemm_full(dgi, w_ih, dx, BL, I, G, false, false);
  gemm_full(dgi, x, dw_ih, G, I, BL, true, false);
  gemm_full(dgh, hprev, dw_hh, G, H, BL, true, false);
  for (int64_t c = 0; c < P; ++c) {
    double sum = 0.0;
    for (int64_t st = 0; st < strips; ++st) sum += partial[(size_t)(st * P + c)];
    if (c < G) db_ih[c] = (float)sum;
    if (c < 2 * H) db_hh[c] = (float)sum;
    if (c >= G) db_hh[c - H] = (float)sum;
  }
}

}  // namespace seqfair
