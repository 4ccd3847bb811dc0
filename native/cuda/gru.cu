// Fused single-layer GRU over a whole sequence (per-unit math: seqfair/gru_cell.h, FORMAT.md 4.5).
//   x (B,L,I), h0 (B,H), W_ih (3H,I), W_hh (3H,H), b_ih, b_hh (3H) -> out (B,L,H),
//   cache (B,L,4H) = [r, z, n, W_hn h_{t-1} + b_hn] per step.
// Forward: gi (B·L, 3H) = x · W_ihᵀ + b_ih as one GEMM for all steps; then per step t a GEMM
//   gh (B, 3H) = h_{t-1} · W_hhᵀ (h_{t-1} read in place from out[:, t-1], leading dimension L·H)
//   and one thread per (b, unit) running gru_cell_forward. 2 launches per step: fine for the
//   sequence lengths of recommenders (≤ a few hundred); a persistent kernel that keeps W_hh in
//   shared memory across steps is the known faster design, not done yet.
// Backward (BPTT), per step t = L-1 .. 0: one thread per (b, unit) adds dOut_t to the carried
//   ∂L/∂h_t, runs gru_cell_backward (dgi_t, dgh_t kept for every step) and leaves the direct part
//   dh·z; a GEMM then adds dgh_t · W_hh to it. Afterwards every weight gradient is one GEMM over
//   all B·L steps (deterministic split-k for the long k = B·L axis, gemm.cu):
//   dx = dgi · W_ih, dW_ih = dgiᵀ · x, dW_hh = dghᵀ · h_prev, and the bias gradients are column
//   sums in double in row order (the CPU's order).
#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "seqfair/gru_cell.h"

namespace seqfair {
namespace cuda {
namespace {

__global__ void sfk_add_bias_rows(float* a, const float* bias, int64_t rows, int64_t cols) {
  const int64_t total = rows * cols;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    a[e] += bias[e % cols];
  }
}

// step t: gi row (b,t), gh (B, 3H) without b_hh; writes out (b,t), cache (b,t)
__global__ void sfk_gru_forward_cell(const float* gi, const float* gh, const float* b_hh, const float* h0, float* out,
                                     float* cache, int64_t B, int64_t L, int64_t H, int64_t t) {
  const int64_t total = B * H, G = 3 * H;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = e / H, u = e % H;
    const float* gir = gi + (b * L + t) * G;
    const float* ghr = gh + b * G;
    const float hp = t == 0 ? h0[b * H + u] : out[(b * L + t - 1) * H + u];
    float* cb = cache + (b * L + t) * 4 * H;
    const float ghn = ghr[2 * H + u] + b_hh[2 * H + u];
    const float hn = gru_cell_forward(gir[u], gir[H + u], gir[2 * H + u], ghr[u] + b_hh[u], ghr[H + u] + b_hh[H + u],
                                      ghn, hp, cb + u, cb + H + u, cb + 2 * H + u);
    cb[3 * H + u] = ghn;
    out[(b * L + t) * H + u] = hn;
  }
}

// step t: dh (B,H) holds ∂L/∂h_t from step t+1 (0 at the last step); on return it holds the direct
// part dh·z of ∂L/∂h_{t-1}; dgi, dgh rows (b,t) are written
__global__ void sfk_gru_backward_cell(const float* h0, const float* out, const float* cache, const float* dout,
                                      float* dh, float* dgi, float* dgh, int64_t B, int64_t L, int64_t H, int64_t t) {
  const int64_t total = B * H, G = 3 * H;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = e / H, u = e % H;
    const float hp = t == 0 ? h0[b * H + u] : out[(b * L + t - 1) * H + u];
    const float* cb = cache + (b * L + t) * 4 * H;
    const float d = dh[e] + dout[(b * L + t) * H + u];
    float dgi_r, dgi_z, dgi_n, dgh_n;
    dh[e] = gru_cell_backward(d, cb[u], cb[H + u], cb[2 * H + u], cb[3 * H + u], hp, &dgi_r, &dgi_z, &dgi_n, &dgh_n);
    float* gi_row = dgi + (b * L + t) * G;
    float* gh_row = dgh + (b * L + t) * G;
    gi_row[u] = dgi_r;
    gi_row[H + u] = dgi_z;
    gi_row[2 * H + u] = dgi_n;
    gh_row[u] = dgi_r;
    gh_row[H + u] = dgi_z;
    gh_row[2 * H + u] = dgh_n;
  }
}

// h_prev (B·L, H): row (b,t) = h0[b] for t = 0, out[b, t-1] otherwise
__global__ void sfk_gru_hprev(const float* h0, const float* out, float* hprev, int64_t B, int64_t L, int64_t H) {
  const int64_t total = B * L * H;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t u = e % H, bt = e / H, t = bt % L, b = bt / L;
    hprev[e] = t == 0 ? h0[b * H + u] : out[(b * L + t - 1) * H + u];
  }
}

// out[c] = Σ_r a[r, c] in row order, in double
__global__ void sfk_column_sums(const float* a, float* out, int64_t rows, int64_t cols) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < cols; c += (int64_t)gridDim.x * blockDim.x) {
    double acc = 0;
    for (int64_t r = 0; r < rows; ++r) acc += a[r * cols + c];
    out[c] = (float)acc;
  }
}

void gemm_nt(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m, int64_t n,
             int64_t k, bool accumulate) {
  GemmArgs g;
  g.a = a;
  g.lda = lda;
  g.b = b;
  g.ldb = ldb;
  g.trans_b = true;
  g.c = c;
  g.ldc = ldc;
  g.m = m;
  g.n = n;
  g.k = k;
  g.accumulate = accumulate;
  gemm(g);
}

}  // namespace

void gru_forward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* b_ih,
                 const float* b_hh, float* out, float* cache, int64_t B, int64_t L, int64_t I, int64_t H) {
  if (B <= 0 || L <= 0 || H <= 0) return;
  const int64_t G = 3 * H, BL = B * L;
  Scratch<float> gi(BL * G), gh(B * G);
  gemm_nt(x, I, w_ih, I, gi.get(), G, BL, G, I, false);
  SEQFAIR_LAUNCH(grid_for(BL * G, kThreads), dim3(kThreads), 0, stream(), sfk_add_bias_rows)(gi.get(), b_ih, BL, G);
  check_launch("sfk_add_bias_rows");
  for (int64_t t = 0; t < L; ++t) {
    // gh = h_{t-1} · W_hhᵀ, h_{t-1} rows are h0 (stride H) or out[:, t-1] (stride L·H)
    if (t == 0) gemm_nt(h0, H, w_hh, H, gh.get(), G, B, G, H, false);
    else gemm_nt(out + (t - 1) * H, L * H, w_hh, H, gh.get(), G, B, G, H, false);
    SEQFAIR_LAUNCH(grid_for(B * H, kThreads), dim3(kThreads), 0, stream(), sfk_gru_forward_cell)(
        gi.get(), gh.get(), b_hh, h0, out, cache, B, L, H, t);
    check_launch("sfk_gru_forward_cell");
  }
}

void gru_backward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* out,
                  const float* cache, const float* dout, float* dx, float* dh0, float* dw_ih, float* dw_hh,
                  float* db_ih, float* db_hh, int64_t B, int64_t L, int64_t I, int64_t H) {
  const int64_t G = 3 * H, BL = B * L;
  if (BL == 0 || H == 0) {  // nothing flows: every gradient is zero (dh0 = 0 too: out does not depend on h0)
    zero(dx, sizeof(float) * (size_t)(BL * I));
    zero(dh0, sizeof(float) * (size_t)(B * H));
    zero(dw_ih, sizeof(float) * (size_t)(G * I));
    zero(dw_hh, sizeof(float) * (size_t)(G * H));
    zero(db_ih, sizeof(float) * (size_t)G);
    zero(db_hh, sizeof(float) * (size_t)G);
    return;
  }
  Scratch<float> dgi(BL * G), dgh(BL * G), hprev(BL * H);
  zero(dh0, sizeof(float) * (size_t)(B * H));  // dh0 doubles as the carried ∂L/∂h_t
  for (int64_t t = L - 1; t >= 0; --t) {
    SEQFAIR_LAUNCH(grid_for(B * H, kThreads), dim3(kThreads), 0, stream(), sfk_gru_backward_cell)(
        h0, out, cache, dout, dh0, dgi.get(), dgh.get(), B, L, H, t);
    check_launch("sfk_gru_backward_cell");
    // ∂L/∂h_{t-1} = dh·z (already in dh0) + dgh_t · W_hh   (dgh_t rows have stride L·3H)
    GemmArgs g;
    g.a = dgh.get() + t * G;
    g.lda = L * G;
    g.b = w_hh;
    g.ldb = H;
    g.c = dh0;
    g.ldc = H;
    g.m = B;
    g.n = H;
    g.k = G;
    g.accumulate = true;
    gemm(g);
  }
  // dx (BL, I) = dgi (BL, G) · W_ih (G, I)
  {
    GemmArgs g;
    g.a = dgi.get();
    g.lda = G;
    g.b = w_ih;
    g.ldb = I;
    g.c = dx;
    g.ldc = I;
    g.m = BL;
    g.n = I;
    g.k = G;
    gemm(g);
  }
  // dW_ih (G, I) = dgiᵀ (G, BL) · x (BL, I);  dW_hh (G, H) = dghᵀ · h_prev
  SEQFAIR_LAUNCH(grid_for(BL * H, kThreads), dim3(kThreads), 0, stream(), sfk_gru_hprev)(h0, out, hprev.get(), B, L, H);
  check_launch("sfk_gru_hprev");
  {
    GemmArgs g;
    g.a = dgi.get();
    g.lda = G;
    g.trans_a = true;
    g.b = x;
    g.ldb = I;
    g.c = dw_ih;
    g.ldc = I;
    g.m = G;
    g.n = I;
    g.k = BL;
    gemm(g);
    g.a = dgh.get();
    g.b = hprev.get();
    g.ldb = H;
    g.c = dw_hh;
    g.ldc = H;
    g.n = H;
    gemm(g);
  }
  SEQFAIR_LAUNCH(grid_for(G, 128), dim3(128), 0, stream(), sfk_column_sums)(dgi.get(), db_ih, BL, G);
  check_launch("sfk_column_sums");
  SEQFAIR_LAUNCH(grid_for(G, 128), dim3(128), 0, stream(), sfk_column_sums)(dgh.get(), db_hh, BL, G);
  check_launch("sfk_column_sums");
}

}  // namespace cuda
}  // namespace seqfair
