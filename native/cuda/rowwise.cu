// Row-wise kernels: LayerNorm (FORMAT.md 4.2), exact GELU (4.3), softmax over the last dim.
//   layer norm   x (rows,D) -> y (rows,D), mean (rows), rstd (rows); backward -> dx, dGamma (D), dBeta (D)
//   gelu         element-wise on n values
//   softmax      (rows,C): y = exp(x - max) / Σ exp(x - max); backward dx = y ⊙ (dy - <y,dy>)
// LayerNorm: one thread per row running the very row functions of the CPU path
// (layer_norm_row_forward / _backward_dx, seqfair/layer_norm.h, double accumulation). Simple and
// exact, but a warp reads 32 different rows: fine for the model widths of sequential recommenders
// (D ≤ 1024), a warp-per-row version is the obvious next step. The parameter gradients are summed
// without atomics: a fixed number of row chunks (a function of rows only) each add their rows in
// order into a double partial (layer_norm_row_param_grads), then one thread per column adds the
// partials in chunk order, like the CPU driver.
// GELU: one thread per element, gelu_forward_elem / gelu_backward_elem (seqfair/gelu.h).
// Softmax: one block per row; max and Σ exp in a fixed tree (block_max / block_sum in double), then
// the CPU's element formula (softmax_elem / softmax_backward_elem, seqfair/softmax.h).
#include <cmath>

#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "seqfair/gelu.h"
#include "seqfair/layer_norm.h"
#include "seqfair/softmax.h"

namespace seqfair {
namespace cuda {
namespace {

__global__ void sfk_layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                                       float* rstd, int64_t rows, int64_t D, float eps) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    layer_norm_row_forward<double>(x + r * D, gamma, beta, y + r * D, D, eps, mean + r, rstd + r);
  }
}

__global__ void sfk_layer_norm_backward_dx(const float* x, const float* gamma, const float* mean, const float* rstd,
                                           const float* dy, float* dx, int64_t rows, int64_t D) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    layer_norm_row_backward_dx<double>(x + r * D, gamma, mean[r], rstd[r], dy + r * D, dx + r * D, D);
  }
}

// chunk c adds rows [c*per, min(rows,(c+1)*per)) into partial[c] = (dγ (D), dβ (D)) in double
__global__ void sfk_layer_norm_backward_params(const float* x, const float* mean, const float* rstd, const float* dy,
                                               double* partial, int64_t rows, int64_t D, int64_t chunks, int64_t per) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < chunks; c += (int64_t)gridDim.x * blockDim.x) {
    double* pg = partial + c * 2 * D;
    double* pb = pg + D;
    for (int64_t d = 0; d < D; ++d) {
      pg[d] = 0.0;
      pb[d] = 0.0;
    }
    const int64_t r1 = min64(rows, (c + 1) * per);
    for (int64_t r = c * per; r < r1; ++r) {
      layer_norm_row_param_grads<double>(x + r * D, mean[r], rstd[r], dy + r * D, pg, pb, D);
    }
  }
}

__global__ void sfk_layer_norm_params_reduce(const double* partial, float* dgamma, float* dbeta, int64_t D,
                                             int64_t chunks) {
  for (int64_t d = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; d < D; d += (int64_t)gridDim.x * blockDim.x) {
    double g = 0, b = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      g += partial[c * 2 * D + d];
      b += partial[c * 2 * D + D + d];
    }
    dgamma[d] = (float)g;
    dbeta[d] = (float)b;
  }
}

__global__ void sfk_gelu_forward(const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    y[i] = gelu_forward_elem(x[i]);
  }
}

__global__ void sfk_gelu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    dx[i] = gelu_backward_elem(x[i], dy[i]);
  }
}

__global__ void __launch_bounds__(256) sfk_softmax_forward(const float* x, float* y, int64_t rows, int64_t C) {
  __shared__ float fbuf[32];
  __shared__ double dbuf[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) mx = xr[c] > mx ? xr[c] : mx;
    mx = block_max(mx, fbuf, -INFINITY);
    if (mx == -INFINITY) {  // every entry -inf: the row is defined as zeros (seqfair/softmax.h)
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] = 0.0f;
      continue;
    }
    double s = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += (double)expf(xr[c] - mx);
    s = block_sum(s, dbuf);
    const double inv = 1.0 / s;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] = softmax_elem(xr[c], mx, inv);
  }
}

__global__ void __launch_bounds__(256) sfk_softmax_backward(const float* y, const float* dy, float* dx, int64_t rows,
                                                            int64_t C) {
  __shared__ double dbuf[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* yr = y + r * C;
    const float* gr = dy + r * C;
    float* dr = dx + r * C;
    double dot = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dot += (double)yr[c] * (double)gr[c];
    dot = block_sum(dot, dbuf);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dr[c] = softmax_backward_elem(yr[c], gr[c], dot);
  }
}

}  // namespace

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t D, float eps) {
  if (rows <= 0 || D <= 0) return;
  SEQFAIR_LAUNCH(grid_for(rows, 128), dim3(128), 0, stream(), sfk_layer_norm_forward)(x, gamma, beta, y, mean, rstd,
                                                                                     rows, D, eps);
  check_launch("sfk_layer_norm_forward");
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t D) {
  if (D <= 0) return;
  if (rows <= 0) {
    zero(dgamma, sizeof(float) * (size_t)D);
    zero(dbeta, sizeof(float) * (size_t)D);
    return;
  }
  SEQFAIR_LAUNCH(grid_for(rows, 128), dim3(128), 0, stream(), sfk_layer_norm_backward_dx)(x, gamma, mean, rstd, dy, dx,
                                                                                         rows, D);
  check_launch("sfk_layer_norm_backward_dx");
  // chunks: a function of rows only (never of the device), at least 8 rows each, at most 2048
  const int64_t chunks = max64(1, min64(2048, rows / 8));
  const int64_t per = (rows + chunks - 1) / chunks;
  Scratch<double> partial(chunks * 2 * D);
  SEQFAIR_LAUNCH(grid_for(chunks, 128), dim3(128), 0, stream(), sfk_layer_norm_backward_params)(
      x, mean, rstd, dy, partial.get(), rows, D, chunks, per);
  check_launch("sfk_layer_norm_backward_params");
  SEQFAIR_LAUNCH(grid_for(D, 128), dim3(128), 0, stream(), sfk_layer_norm_params_reduce)(partial.get(), dgamma, dbeta,
                                                                                        D, chunks);
  check_launch("sfk_layer_norm_params_reduce");
}

void gelu_forward(const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  SEQFAIR_LAUNCH(grid_for(n, kThreads), dim3(kThreads), 0, stream(), sfk_gelu_forward)(x, y, n);
  check_launch("sfk_gelu_forward");
}

void gelu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  if (n <= 0) return;
  SEQFAIR_LAUNCH(grid_for(n, kThreads), dim3(kThreads), 0, stream(), sfk_gelu_backward)(x, dy, dx, n);
  check_launch("sfk_gelu_backward");
}

void softmax_forward(const float* x, float* y, int64_t rows, int64_t C) {
  if (rows <= 0 || C <= 0) return;
  SEQFAIR_LAUNCH(grid_for(rows, 1), dim3(kThreads), 0, stream(), sfk_softmax_forward)(x, y, rows, C);
  check_launch("sfk_softmax_forward");
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t C) {
  if (rows <= 0 || C <= 0) return;
  SEQFAIR_LAUNCH(grid_for(rows, 1), dim3(kThreads), 0, stream(), sfk_softmax_backward)(y, dy, dx, rows, C);
  check_launch("sfk_softmax_backward");
}

}  // namespace cuda
}  // namespace seqfair
