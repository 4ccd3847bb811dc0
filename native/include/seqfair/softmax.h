// Softmax over one row and an online (streaming) log-sum-exp, shared by the CPU and CUDA kernels.
//
//   softmax:  y[c] = exp(x[c] - max x) / Σ_c' exp(x[c'] - max x)            row of C values
//   backward: dx[c] = y[c] * (dy[c] - Σ_c' y[c'] dy[c'])
//   online log-sum-exp (one pass, any chunking): state (m, s) with s = Σ exp(x - m) over the values
//     pushed so far, m their maximum; lse = m + log(s). Two states merge exactly like two chunks,
//     so a row split over tiles (attention, chunked cross-entropy over the item axis) combines its
//     chunk states in a fixed order. The empty state is (m = -inf, s = 0) and lse = -inf; pushing
//     -inf (a masked score) is a no-op, so no exp(-inf - -inf) = NaN ever appears.
//
// API (stable; the attention and cross-entropy kernels use it):
//   OnlineLseT<T>  { T m, s; }                     OnlineLse = OnlineLseT<float>
//   online_lse_init<T>()                           -> empty state
//   online_lse_push(state&, x)                     add one value
//   online_lse_push_max(state&, chunk_max, chunk_sum)  add a chunk given as (its max, Σ exp(x - max))
//   online_lse_merge(a, b)                         -> state of both
//   online_lse_value(state)                        -> log Σ exp(x), -inf when empty
//   softmax_row_forward(x, y, C)  softmax_row_backward(y, dy, dx, C)   (float in/out, Acc sums)
//   per element (for kernels that reduce a row their own way, e.g. a CUDA block or CPU vector exp):
//   softmax_scale_elem(e, inv_sum)  (float)(e · (1/Σ)), e = exp(x - max) as a float, 1/Σ in Acc
//   softmax_elem(x, max, inv_sum)   the same with e = expf(x - max)
//   softmax_backward_elem(y, dy, dot)  (float)(y · (dy - <y,dy>)) in Acc
#pragma once
#include <cmath>
#include <cstdint>

#include "seqfair/hd.h"

namespace seqfair {

template <typename T>
struct OnlineLseT {
  T m;  // running maximum (-inf when empty)
  T s;  // Σ exp(x - m)
};
using OnlineLse = OnlineLseT<float>;

template <typename T = float>
SEQFAIR_HD OnlineLseT<T> online_lse_init() {
  OnlineLseT<T> st;
  st.m = -INFINITY;
  st.s = T(0);
  return st;
}

// Adds a chunk summarised by its maximum and Σ exp(x - chunk_max).
template <typename T>
SEQFAIR_HD void online_lse_push_max(OnlineLseT<T>& st, T chunk_max, T chunk_sum) {
  if (chunk_max != chunk_max || st.m != st.m) {  // a NaN anywhere makes the whole row NaN
    st.m = chunk_max != chunk_max ? chunk_max : st.m;
    st.s = st.m;
    return;
  }
  if (chunk_max == -INFINITY) return;
  if (chunk_max > st.m) {
    st.s = st.s * exp(st.m - chunk_max) + chunk_sum;  // exp(-inf) = 0 for the empty state
    st.m = chunk_max;
  } else {
    st.s += chunk_sum * exp(chunk_max - st.m);
  }
}

template <typename T>
SEQFAIR_HD void online_lse_push(OnlineLseT<T>& st, T x) {
  online_lse_push_max(st, x, T(1));
}

template <typename T>
SEQFAIR_HD OnlineLseT<T> online_lse_merge(OnlineLseT<T> a, const OnlineLseT<T>& b) {
  online_lse_push_max(a, b.m, b.s);
  return a;
}

template <typename T>
SEQFAIR_HD T online_lse_value(const OnlineLseT<T>& st) {
  return st.m == -INFINITY ? T(-INFINITY) : st.m + log(st.s);
}

template <typename Acc = double>
SEQFAIR_HD float softmax_scale_elem(float e, Acc inv_sum) {
  return (float)((Acc)e * inv_sum);
}

SEQFAIR_HD float softmax_elem(float x, float row_max, double inv_sum) {
  return softmax_scale_elem<double>(expf(x - row_max), inv_sum);
}

template <typename Acc = double>
SEQFAIR_HD float softmax_backward_elem(float y, float dy, Acc dot) {
  return (float)((Acc)y * ((Acc)dy - dot));
}

// y = softmax(x) over C values (y may alias x). Sums in Acc (double on the CPU).
template <typename Acc = double>
SEQFAIR_HD void softmax_row_forward(const float* x, float* y, int64_t C) {
  float mx = -INFINITY;
  for (int64_t c = 0; c < C; ++c) mx = x[c] > mx ? x[c] : mx;
  if (mx == -INFINITY) {  // every entry -inf (fully masked): define the row as zeros, never NaN
    for (int64_t c = 0; c < C; ++c) y[c] = 0.0f;
    return;
  }
  Acc sum = 0;
  for (int64_t c = 0; c < C; ++c) {
    const float e = expf(x[c] - mx);
    y[c] = e;
    sum += e;
  }
  const Acc inv = Acc(1) / sum;
  for (int64_t c = 0; c < C; ++c) y[c] = softmax_scale_elem<Acc>(y[c], inv);
}

// dx = y ⊙ (dy - <y, dy>) over C values (dx may alias y or dy).
template <typename Acc = double>
SEQFAIR_HD void softmax_row_backward(const float* y, const float* dy, float* dx, int64_t C) {
  Acc dot = 0;
  for (int64_t c = 0; c < C; ++c) dot += (Acc)y[c] * (Acc)dy[c];
  for (int64_t c = 0; c < C; ++c) dx[c] = softmax_backward_elem<Acc>(y[c], dy[c], dot);
}

}  // namespace seqfair
