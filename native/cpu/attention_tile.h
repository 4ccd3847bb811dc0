// Register-tiled products of one attention head whose tiles sit in L1/L2 (AVX2+FMA), used by
// cpu/attention.cc's small-head path.
//
// Why: at SASRec sizes (L = 50, dh = 32) a head's products are about 50×50×32; the general GEMM's
// packing and edge handling cost several times the arithmetic. Here every operand is already in
// cache and laid out for the kernel, and the causal triangle is skipped in blocks of 4 rows:
//
//   C (m × nc) = A · B,   A(r, kk) = A[r·ars + kk·aks]  (any strides, so A or Aᵀ: read by broadcasts)
//                         B(kk, c) = B[kk·ldb + c]      (row-major; nc a multiple of 8)
//   for the block of rows [r, r+R) (R ≤ 4), with a Band {cols, kbeg, kend}:
//     only columns c < min(nc, round8(r + R + cols)) are written (the rest is left untouched),
//     and the sum runs over kk in [max(0, r - kbeg), min(k, r + R + kend)) (the other terms are
//     known to be zero). kFar means no limit. An empty kk range writes zeros.
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace seqfair {
namespace attn_tile {

constexpr int64_t kFar = int64_t(1) << 40;

struct Band {
  int64_t cols = kFar, kbeg = kFar, kend = kFar;
};

inline int64_t round8(int64_t n) { return (n + 7) & ~int64_t(7); }

#if defined(__x86_64__) || defined(__i386__)
// R rows × NV vectors of 8 columns, summed over kk in [k0, k1)
template <int R, int NV>
__attribute__((target("avx2,fma"))) inline void kernel(const float* A, int64_t ars, int64_t aks, const float* B,
                                                       int64_t ldb, float* C, int64_t ldc, int64_t k0, int64_t k1) {
  __m256 acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  const float* a = A + k0 * aks;
  const float* b = B + k0 * ldb;
#pragma GCC unroll 2
  for (int64_t kk = k0; kk < k1; ++kk, a += aks, b += ldb) {
    __m256 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * ars);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(C + r * ldc + 8 * v, acc[r][v]);
}

template <int R>
__attribute__((target("avx2,fma"))) inline void row_block(const float* A, int64_t ars, int64_t aks, const float* B,
                                                          int64_t ldb, float* C, int64_t ldc, int64_t ce, int64_t k0,
                                                          int64_t k1) {
  int64_t c = 0;
  for (; c + 16 <= ce; c += 16) kernel<R, 2>(A, ars, aks, B + c, ldb, C + c, ldc, k0, k1);
  if (c < ce) kernel<R, 1>(A, ars, aks, B + c, ldb, C + c, ldc, k0, k1);
}

__attribute__((target("avx2,fma"))) inline void gemm(const float* A, int64_t ars, int64_t aks, const float* B,
                                                     int64_t ldb, float* C, int64_t ldc, int64_t m, int64_t nc,
                                                     int64_t k, Band band) {
  for (int64_t r = 0; r < m; r += 4) {
    const int64_t R = std::min<int64_t>(4, m - r);
    const int64_t ce = std::min(nc, round8(r + R + band.cols));
    const int64_t k0 = std::max<int64_t>(0, r - band.kbeg), k1 = std::min(k, r + R + band.kend);
    const float* Ar = A + r * ars;
    float* Cr = C + r * ldc;
    switch (R) {
      case 4: row_block<4>(Ar, ars, aks, B, ldb, Cr, ldc, ce, k0, k1); break;
      case 3: row_block<3>(Ar, ars, aks, B, ldb, Cr, ldc, ce, k0, k1); break;
      case 2: row_block<2>(Ar, ars, aks, B, ldb, Cr, ldc, ce, k0, k1); break;
      default: row_block<1>(Ar, ars, aks, B, ldb, Cr, ldc, ce, k0, k1); break;
    }
  }
}
#endif

// row[lim, ld) = 0, row[0, lim) kept; ld a multiple of 8 (the buffer's padded row length). Vector
// stores because the rows are short and many (a memset call per row costs more than the zeros).
__attribute__((target("avx2"))) inline void zero_from(float* row, int64_t lim, int64_t ld) {
  int64_t j = lim & ~int64_t(7);
  if (j < lim) {  // the vector holding lim: keep its lanes below lim
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(lim - j)), lane));
    _mm256_storeu_ps(row + j, _mm256_and_ps(_mm256_loadu_ps(row + j), keep));
    j += 8;
  }
  for (; j < ld; j += 8) _mm256_storeu_ps(row + j, _mm256_setzero_ps());
}

// 8×8 block: out[c·ldo + j] = in[j·ldi + c]
__attribute__((target("avx2"))) inline void transpose8x8(const float* in, int64_t ldi, float* out, int64_t ldo) {
  __m256 r[8], t[8];
  for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(in + j * ldi);
  for (int j = 0; j < 8; j += 2) {
    t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
    t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
  }
  for (int j = 0; j < 8; j += 4) {
    r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
    r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
    r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
    r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
  }
  // r[0..3]: columns 0,1,2,3 of rows 0-3 (low lanes) and 4,5,6,7 (high lanes) ... likewise r[4..7]
  for (int c = 0; c < 4; ++c) {
    _mm256_storeu_ps(out + c * ldo, _mm256_permute2f128_ps(r[c], r[c + 4], 0x20));
    _mm256_storeu_ps(out + (c + 4) * ldo, _mm256_permute2f128_ps(r[c], r[c + 4], 0x31));
  }
}

// Xt (d × ld) = rows [0, n) of X (n × d, row stride xs ≥ d; d a multiple of 8, d <= 256)
// transposed, ld = round8(n); columns [n, ld) set to 0. Rows past n are never read (they may lie
// past the end of the tensor): the last partial block of rows goes through a zero-padded copy.
__attribute__((target("avx2"))) inline void transpose(const float* X, int64_t xs, int64_t n, int64_t d, float* Xt,
                                                      int64_t ld) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int64_t c = 0; c < d; c += 8) transpose8x8(X + j * xs + c, xs, Xt + c * ld + j, ld);
  if (j < n) {
    alignas(32) float tail[8 * 256];
    std::fill(tail, tail + 8 * d, 0.0f);
    for (int64_t r = j; r < n; ++r) std::copy(X + r * xs, X + r * xs + d, tail + (r - j) * d);
    for (int64_t c = 0; c < d; c += 8) transpose8x8(tail + c, d, Xt + c * ld + j, ld);
  }
}

}  // namespace attn_tile
}  // namespace seqfair

#pragma GCC diagnostic pop
