// Softmax cross-entropy kernels on raw pointers (FORMAT.md 4.6, 4.7); arguments are validated by
// the N-API layer (bind_fused.cc) before these run: targets are ignore_index or in [0, C) / [0, V).
#pragma once
#include <cstdint>

namespace seqfair {

// logits (N,C), targets (N), weights (N) or null -> loss (N), lse (N); ignored rows: loss 0, lse 0
void cross_entropy_forward(const float* logits, const int32_t* targets, const float* weights, float* loss, float* lse,
                           int64_t N, int64_t C, int32_t ignore_index);
// -> dlogits (N,C) = dLoss·w·(softmax - onehot); ignored rows 0
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* weights, const float* lse,
                            const float* dloss, float* dlogits, int64_t N, int64_t C, int32_t ignore_index);

// Fused output projection + cross-entropy, logits = hidden (N,D) · table (V,D)^T never held whole:
// tiles of (row block × item chunk) go through gemm_serial into thread-local buffers.
void proj_ce_forward(const float* hidden, const float* table, const int32_t* targets, const float* weights,
                     float* loss, float* lse, int64_t N, int64_t D, int64_t V, int32_t ignore_index);
// -> dHidden (N,D), dTable (V,D), both overwritten; either may be null (not computed); deterministic for
// any thread count, and each gradient the same whether or not the other is computed.
void proj_ce_backward(const float* hidden, const float* table, const int32_t* targets, const float* weights,
                      const float* lse, const float* dloss, float* dhidden, float* dtable, int64_t N, int64_t D,
                      int64_t V, int32_t ignore_index);
// proj_ce_forward and then proj_ce_backward with dLoss, the same bits, in one pass over the logits
// where it can (3 GEMM-sized products instead of 4): the losses whose upstream is known in advance
void proj_ce_forward_backward(const float* hidden, const float* table, const int32_t* targets, const float* weights,
                              const float* dloss, float* loss, float* lse, float* dhidden, float* dtable, int64_t N,
                              int64_t D, int64_t V, int32_t ignore_index);

}  // namespace seqfair
