// Row-wise and element-wise kernels on raw pointers (LayerNorm, GELU, softmax); arguments are
// validated by the N-API layer (bind_core.cc) before these run.
#pragma once
#include <cstdint>

namespace seqfair {

// x, y (rows, D); gamma, beta (D); mean, rstd (rows).
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t D, float eps);
// dx (rows, D); dGamma, dBeta (D), overwritten. Deterministic for any thread count.
void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dGamma, float* dBeta, int64_t rows, int64_t D);

void gelu_forward(const float* x, float* y, int64_t n);
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n);

// softmax over the last dimension C of `rows` rows
void softmax_forward(const float* x, float* y, int64_t rows, int64_t C);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t C);

}  // namespace seqfair
