// Fused single-layer GRU over whole sequences (math: seqfair/gru_cell.h) on raw pointers; the
// N-API layer (bind_fused.cc) validates every length before these run.
#pragma once
#include <cstdint>

namespace seqfair {

// x (B,L,I), h0 (B,H), w_ih (3H,I), w_hh (3H,H), b_ih, b_hh (3H) -> out (B,L,H), cache (B,L,4H)
void gru_forward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* b_ih,
                 const float* b_hh, float* out, float* cache, int64_t B, int64_t L, int64_t I, int64_t H);
// dout (B,L,H): upstream of every h_t -> dx (B,L,I), dh0 (B,H), dw_ih (3H,I), dw_hh (3H,H),
// db_ih, db_hh (3H); all overwritten, deterministic for any thread count
void gru_backward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* out,
                  const float* cache, const float* dout, float* dx, float* dh0, float* dw_ih, float* dw_hh,
                  float* db_ih, float* db_hh, int64_t B, int64_t L, int64_t I, int64_t H);

}  // namespace seqfair
