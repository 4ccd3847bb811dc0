// Host entry points of the CUDA kernels (defined in native/cuda/*.cu), as plain C++ so the N-API
// code (bind.cc, host compiler) can call them. Every pointer is a device pointer; arguments were
// validated by bind.cc (lengths, ranges, ids) before these run. Each call enqueues its kernels on
// the addon's one stream and returns without waiting; errors are thrown as CudaError.
// The math and shapes of each kernel are at the top of its .cu file.
#pragma once
#include <cstdint>

#include "cuda/runtime.h"
#include "seqfair/adam.h"
#include "seqfair/attention.h"
#include "seqfair/binary.h"
#include "seqfair/philox.h"

namespace seqfair {
namespace cuda {

// ---- gemm.cu ---------------------------------------------------------------------------------
// C[b] (m,n) (+)= op(A[b]) · op(B[b]) with leading dimensions and batch strides (0 = broadcast).
// op(A) is (m,k): A(i,p) = transA ? a[p*lda + i] : a[i*lda + p]; likewise op(B) (k,n):
// B(p,j) = transB ? b[j*ldb + p] : b[p*ldb + j]; C(i,j) = c[i*ldc + j].
struct GemmArgs {
  const float* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  bool trans_a = false;
  const float* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  bool trans_b = false;
  float* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool accumulate = false;
  // false: never split the k axis (each output summed in one fixed order, whatever its position;
  // cosine top-k relies on this for exact ties between identical rows)
  bool allow_split_k = true;
};
void gemm(const GemmArgs& g);
// the Backend contract's gemm: contiguous row-major operands
void gemm_contiguous(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n, int64_t k,
                     bool trans_a, bool trans_b, bool batched_a, bool batched_b, bool accumulate);

// ---- random.cu -------------------------------------------------------------------------------
void uniform(float* out, int64_t n, const RngKey& key);
void normal(float* out, int64_t n, const RngKey& key);
void dropout(const float* x, float* y, int64_t n, double p, const RngKey& key);
void dirichlet(const int32_t* counts, float* out, int64_t rows, int64_t K, double alpha, const RngKey& key);

// ---- rowwise.cu ------------------------------------------------------------------------------
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t D, float eps);
void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t D);
// ---- binary.cu -------------------------------------------------------------------------------
// y = a op b over a broadcast loop (seqfair/binary.h)
void binary_broadcast(int32_t op, const float* a, const float* b, float* y, const BroadcastLoop& l);

void gelu_forward(const float* x, float* y, int64_t n);
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n);
void softmax_forward(const float* x, float* y, int64_t rows, int64_t C);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t C);

// ---- cross_entropy.cu ------------------------------------------------------------------------
void cross_entropy_forward(const float* logits, const int32_t* targets, const float* weights, float* loss, float* lse,
                           int64_t N, int64_t C, int32_t ignore_index);
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* weights, const float* lse,
                            const float* dloss, float* dlogits, int64_t N, int64_t C, int32_t ignore_index);
void proj_ce_forward(const float* hidden, const float* table, const int32_t* targets, const float* weights, float* loss,
                     float* lse, int64_t N, int64_t D, int64_t V, int32_t ignore_index);
void proj_ce_backward(const float* hidden, const float* table, const int32_t* targets, const float* weights,
                      const float* lse, const float* dloss, float* dhidden, float* dtable, int64_t N, int64_t D, int64_t V,
                      int32_t ignore_index);

// ---- embedding.cu ----------------------------------------------------------------------------
void gather(const float* table, const int32_t* ids, float* out, int64_t n, int64_t V, int64_t D);
void scatter_add(const float* dout, const int32_t* ids, float* dtable, int64_t n, int64_t V, int64_t D);
void grad_norm(const float* g, const int32_t* mask, float* norms, float* rowmax, int32_t* argmax, int64_t B, int64_t L,
               int64_t D);

// ---- neighbours.cu ---------------------------------------------------------------------------
void cosine_topk(const float* x, const int32_t* queries, int64_t Q, int32_t* indices, float* sims, int64_t N,
                 int64_t D, int64_t k);
void two_hop(const int32_t* indices, int32_t* out, int32_t* count, int64_t N, int64_t k);
void neighbour_mix(const float* table, const int32_t* ids, const float* w, float* out, int64_t R, int64_t K, int64_t V,
                   int64_t D);
void neighbour_mix_backward(const float* dout, const int32_t* ids, const float* w, float* dtable, int64_t R, int64_t K,
                            int64_t V, int64_t D);

// ---- narm_attention.cu -----------------------------------------------------------------------
void narm_attention_forward(const float* q, const float* k, const float* w, const int32_t* mask, float* alpha, int64_t B,
                            int64_t T, int64_t L, int64_t H);
void narm_attention_backward(const float* q, const float* k, const float* w, const int32_t* mask, const float* dalpha,
                             float* dq, float* dk, float* dw, int64_t B, int64_t T, int64_t L, int64_t H);

// ---- attention.cu ----------------------------------------------------------------------------
// AttnDims (seqfair/attention.h): the shape and options of one call
// bytes of dynamic shared memory the attention kernels need for head size dh (bind.cc compares it
// with the device's limit before launching)
size_t attention_smem_bytes(int64_t dh);
void attention_forward(const float* q, const float* k, const float* v, const int32_t* mask, float* out, float* lse,
                       const AttnDims& d);
void attention_backward(const float* q, const float* k, const float* v, const int32_t* mask, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv, const AttnDims& d);

// ---- gru.cu ----------------------------------------------------------------------------------
void gru_forward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* b_ih,
                 const float* b_hh, float* out, float* cache, int64_t B, int64_t L, int64_t I, int64_t H);
void gru_backward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* out,
                  const float* cache, const float* dout, float* dx, float* dh0, float* dw_ih, float* dw_hh,
                  float* db_ih, float* db_hh, int64_t B, int64_t L, int64_t I, int64_t H);

// ---- adam.cu ---------------------------------------------------------------------------------
void adam_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamCoeffs& c);

// ---- checks.cu -------------------------------------------------------------------------------
// Index of the first ids[i] outside [lo, hi) that is not `allowed` (when has_allowed), or -1;
// *bad_value receives that id. Waits for the stream (it reads the answer back).
int64_t first_out_of_range(const int32_t* ids, int64_t n, int64_t lo, int64_t hi, bool has_allowed, int64_t allowed,
                           int32_t* bad_value);

// ---- sort.cu (used by the deterministic scatter kernels) ---------------------------------------
// Sorts keys[0..n) ascending in place (n a power of two; pad with UINT64_MAX). Bitonic network:
// the result does not depend on timing, and with distinct keys not on the network either.
void sort_u64(unsigned long long* keys, int64_t n);
// start[v] = first position p in the sorted keys[0..n) with keys[p] >= (v << 32), for v in [0, V]
// (so the bucket of id v is [start[v], start[v+1]); padding keys UINT64_MAX sort after every id)
void bucket_starts(const unsigned long long* keys, int64_t n, int64_t* start, int64_t V);
// the smallest power of two >= n (1 for n <= 1)
inline int64_t next_pow2(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace cuda
}  // namespace seqfair
