// Fused multi-head attention (math: seqfair/attention.h) on raw pointers; arguments are validated
// by the N-API layer (bind_fused.cc) before these run (key_mask is 0/1, dropout in [0,1), key
// non-null when dropout > 0).
#pragma once
#include <cstdint>

#include "seqfair/attention.h"

namespace seqfair {

// q,k,v,out (B,H,L,dh) or, interleaved, (B,L,H,dh); key_mask (B,L), lse (B,H,L)
void attention_forward(const float* q, const float* k, const float* v, const int32_t* key_mask, float* out, float* lse,
                       const AttnDims& d);
// dq,dk,dv (B,H,L,dh), overwritten; out is not needed (Σ_l p dP is formed from the tiles)
void attention_backward(const float* q, const float* k, const float* v, const int32_t* key_mask, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, const AttnDims& d);

}  // namespace seqfair
