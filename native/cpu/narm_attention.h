// NARM's local-encoder attention weights (native/include/seqfair/narm_attention.h has the math),
// on raw pointers whose lengths and mask values the N-API layer has checked.
#pragma once
#include <cstdint>

namespace seqfair {

// q (B,T,H), k (B,L,H), w (H), mask (B,L) in {0,1} -> alpha (B,T,L), overwritten:
// alpha[b,t,j] = mask[b,j] · [j <= L-T+t] · Σ_d w_d σ(q[b,t,d] + k[b,j,d])
void narm_attention_forward(const float* q, const float* k, const float* w, const int32_t* mask, float* alpha, int64_t B,
                            int64_t T, int64_t L, int64_t H);
// dalpha (B,T,L) -> dq (B,T,H), dk (B,L,H), dw (H), all overwritten; deterministic at any thread count
void narm_attention_backward(const float* q, const float* k, const float* w, const int32_t* mask, const float* dalpha,
                             float* dq, float* dk, float* dw, int64_t B, int64_t T, int64_t L, int64_t H);

}  // namespace seqfair
