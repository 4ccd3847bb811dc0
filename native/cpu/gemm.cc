// GEMM and batched GEMM, row-major (contract in gemm.h):
//   C[b] (m,n) = op(A[b]) (m,k) · op(B[b]) (k,n)      (C += … when accumulate)
//
// BLIS-style blocking (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication",
// 2008; Van Zee & van de Geijn, "BLIS", 2015). C is cut into R row ranges × G column groups, one
// task each, with no synchronisation inside a product; a task runs
//   for ib in its rows step RB:
//     for pc in K step KC:                                   (one k-panel)
//       pack op(A)[ib, pc] into MR-tall strips     Ap[strip][p][MR]    (L3)
//       for jb in its columns step CB:
//         pack op(B)[pc, jb] into NR-wide panels   Bp[panel][p][NR]    (L2)
//         for each strip (L1): for each panel: micro-kernel on the MR×NR tile of C
// The micro-kernel holds the MR×NR tile in vector registers (AVX-512: 14×32 = 28 zmm; AVX2+FMA:
// 6×16 = 12 ymm), loads NR/16 (NR/8) vectors of B and broadcasts one A value per row and k.
// Packing zero-pads edge strips and panels, so a tail tile runs the same kernel into a small
// buffer of which only the valid part is copied back. The transposing packs (A stored (m,k), B
// stored (n,k), e.g. x·Wᵀ of every linear layer) use 8×8 AVX2 register transposes. A product
// with a single strip of rows (m ≤ MR) and B stored (k,n) reads B in place, unpacked.
//
// Summation order: within a k-panel of KC values, each C element's products are summed from 0 in
// order of k (one FMA rounding per step); the panel sum is then added to C (to the old C when
// accumulating, and for every panel after the first). That order depends only on k and KC, so the
// result is the same for any thread count, any split into tasks, the serial and the parallel
// driver, and the batched and the single product; it does depend on the SIMD level (FMA vs
// separate multiply-add in the scalar fallback).
#include "cpu/gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpu/parallel.h"
#include "cpu/simd.h"

namespace seqfair {
namespace {

#if defined(__x86_64__) || defined(__i386__)
#define SEQFAIR_X86 1
#endif

// ---- micro-kernels ---------------------------------------------------------------------------
// C tile (MR×NR at C, row stride ldc) = (load_c ? C : 0) + Σ_{p<kc} Ap[p*lda + i] · B[p*ldb + j],
// the sum accumulated in registers from 0 in order of p. A is a packed strip (lda = MR) or, when
// A is stored (k,m), its rows read in place (lda = m); B is a packed micro-panel (ldb = NR) or
// rows of B stored (k,n) read in place (ldb = n).
using KernelFn = void (*)(int64_t kc, const float* Ap, int64_t lda, const float* B, int64_t ldb, float* C,
                          int64_t ldc, bool load_c);

#ifdef SEQFAIR_X86
template <int MR, int NV>
__attribute__((target("avx512f"))) void kernel_avx512(int64_t kc, const float* __restrict Ap, int64_t lda,
                                                      const float* __restrict B, int64_t ldb, float* C,
                                                      int64_t ldc, bool load_c) {
  constexpr int NR = 16 * NV;
  __m512 acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch((const char*)(C + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char*)(C + i * ldc + NR - 1), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  }
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    __m512 b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(B + p * ldb + 16 * v);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(Ap[p * lda + i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
    }
  }
  if (load_c) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_add_ps(_mm512_loadu_ps(C + i * ldc + 16 * v), acc[i][v]);
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(C + i * ldc + 16 * v, acc[i][v]);
}

template <int MR, int NV>
__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t kc, const float* __restrict Ap, int64_t lda,
                                                     const float* __restrict B, int64_t ldb, float* C, int64_t ldc,
                                                     bool load_c) {
  constexpr int NR = 8 * NV;
  __m256 acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch((const char*)(C + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char*)(C + i * ldc + NR - 1), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  }
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    __m256 b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = _mm256_loadu_ps(B + p * ldb + 8 * v);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(Ap + p * lda + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(a, b[v], acc[i][v]);
    }
  }
  if (load_c) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_add_ps(_mm256_loadu_ps(C + i * ldc + 8 * v), acc[i][v]);
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(C + i * ldc + 8 * v, acc[i][v]);
}

// 8×8 block transpose: dst[i*ldd + r] = src[r*lds + i] for r < rows (rows ≤ 8; missing rows are
// 0), i < 8. Each output row is stored as 8 floats, so with ldd < 8 a store spills past the row:
// callers write rows in increasing order and keep slack after the last one (see pack_a).
__attribute__((target("avx2"))) void transpose8_avx2(const float* src, int64_t lds, int rows, float* dst,
                                                     int64_t ldd) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = i < rows ? _mm256_loadu_ps(src + i * lds) : _mm256_setzero_ps();
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

// Portable fallback (baseline x86-64 has no FMA: multiply, then add, in k order).
template <int MR, int NR>
void kernel_scalar(int64_t kc, const float* __restrict Ap, int64_t lda, const float* __restrict B, int64_t ldb,
                   float* C, int64_t ldc, bool load_c) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.0f;
  for (int64_t p = 0; p < kc; ++p) {
    const float* b = B + p * ldb;
    for (int i = 0; i < MR; ++i) {
      const float a = Ap[p * lda + i];
      for (int j = 0; j < NR; ++j) acc[i][j] += a * b[j];
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) C[i * ldc + j] = load_c ? C[i * ldc + j] + acc[i][j] : acc[i][j];
}

// ---- per-thread scratch ----------------------------------------------------------------------

// A 64-byte aligned, growable, per-thread buffer (gemm_serial runs inside other kernels' parallel
// loops, so nothing here is shared between threads).
class Scratch {
 public:
  ~Scratch() { std::free(data_); }
  float* get(size_t n) {
    if (n > cap_) {
      std::free(data_);
      data_ = nullptr;
      const size_t cap = std::max(n, cap_ * 2);
      data_ = static_cast<float*>(std::aligned_alloc(64, ((cap * sizeof(float) + 63) / 64) * 64));
      cap_ = data_ ? cap : 0;
      if (!data_) throw std::bad_alloc();
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t cap_ = 0;
};

float* a_scratch(size_t n) {
  thread_local Scratch s;
  return s.get(n);
}
float* b_scratch(size_t n) {
  thread_local Scratch s;
  return s.get(n);
}

// ---- blocking configuration ------------------------------------------------------------------

struct Blocks {
  int64_t kc;      // k-panel depth
  int64_t cb;      // columns of a packed B block (kc × cb floats, sized for L2)
  int64_t rb;      // rows of a packed A block (rb × kc floats, L3)
  bool avx2_pack;  // use the AVX2 8×8 transposes in packing
  bool direct;     // read operands in place where the layout allows (SEQFAIR_GEMM_DIRECT=0: always pack)
};

struct Operands {
  const float* A;
  const float* B;
  float* C;
  int64_t m, n, k;
  bool transA, transB, accumulate;
};

template <int MR, int NR, KernelFn Kernel>
struct Gemm {
  static constexpr int kSlack = 16;  // floats after a packed A block (transpose spill)
  static constexpr int64_t kDirectLd = 256;  // longest leading dimension read in place (floats)

  // Rows [i0, i0+mc) × k [p0, p0+kc) of op(A) into ceil(mc/MR) strips of kc×MR (zero rows padded);
  // with only_partial, just the last strip when it is short (the full ones are read in place).
  static void pack_a(const Operands& o, const Blocks& bl, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                     float* Ap, bool only_partial) {
    for (int64_t s = 0; s * MR < mc; ++s) {
      float* dst = Ap + s * kc * MR;
      const int64_t r0 = i0 + s * MR;
      const int rows = (int)std::min<int64_t>(MR, i0 + mc - r0);
      if (only_partial && rows == MR) continue;
      if (o.transA) {  // op(A)(i,p) = A[p*m + i]: MR contiguous values per p
        if (rows == MR) {
          for (int64_t p = 0; p < kc; ++p) {
            const float* src = o.A + (p0 + p) * o.m + r0;
            for (int r = 0; r < MR; ++r) dst[p * MR + r] = src[r];
          }
        } else {
          for (int64_t p = 0; p < kc; ++p) {
            const float* src = o.A + (p0 + p) * o.m + r0;
            for (int r = 0; r < MR; ++r) dst[p * MR + r] = r < rows ? src[r] : 0.0f;
          }
        }
        continue;
      }
      // op(A)(i,p) = A[i*k + p]: a transpose of the rows×kc block
      const float* src = o.A + r0 * o.k + p0;
      int64_t p = 0;
#ifdef SEQFAIR_X86
      if (bl.avx2_pack) {
        // row chunks of 8 from the last down to the first: a chunk's 8-float stores spill into
        // the next p's first rows, which the lower chunk (or the next p block) rewrites.
        for (; p + 8 <= kc; p += 8)
          for (int c = ((MR - 1) / 8) * 8; c >= 0; c -= 8)
            transpose8_avx2(src + c * o.k + p, o.k, std::max(0, std::min(8, rows - c)), dst + p * MR + c, MR);
      }
#endif
      for (; p < kc; ++p)
        for (int r = 0; r < MR; ++r) dst[p * MR + r] = r < rows ? src[r * o.k + p] : 0.0f;
    }
  }

  // Columns [j0, j0+cols) (cols ≤ NR) × k [p0, p0+kc) of op(B) into a kc×NR micro-panel.
  static void pack_b(const Operands& o, const Blocks& bl, int64_t j0, int cols, int64_t p0, int64_t kc, float* dst) {
    if (!o.transB) {  // op(B)(p,j) = B[p*n + j]: NR contiguous values per p
      if (cols == NR) {
        for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * NR, o.B + (p0 + p) * o.n + j0, sizeof(float) * NR);
      } else {
        for (int64_t p = 0; p < kc; ++p) {
          const float* src = o.B + (p0 + p) * o.n + j0;
          for (int c = 0; c < NR; ++c) dst[p * NR + c] = c < cols ? src[c] : 0.0f;
        }
      }
      return;
    }
    // op(B)(p,j) = B[j*k + p]: a transpose of the cols×kc block
    const float* src = o.B + j0 * o.k + p0;
    int64_t p = 0;
#ifdef SEQFAIR_X86
    if (bl.avx2_pack) {
      for (; p + 8 <= kc; p += 8)
        for (int c = 0; c < NR; c += 8)
          transpose8_avx2(src + c * o.k + p, o.k, std::max(0, std::min(8, cols - c)), dst + p * NR + c, NR);
    }
#endif
    for (; p < kc; ++p)
      for (int c = 0; c < NR; ++c) dst[p * NR + c] = c < cols ? src[c * o.k + p] : 0.0f;
  }

  // One task: rows [r0, r1) × columns [c0, c1) of C, in blocks of RB rows of packed A (L3) ×
  // CB columns of packed B (L2); innermost, one A strip (L1) against every B micro-panel of the
  // block (streamed from L2).
  static void task(const Operands& o, const Blocks& bl, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    if (r0 >= r1 || c0 >= c1) return;
    const int64_t KC = bl.kc;
    const int64_t RB = std::max<int64_t>(MR, (bl.rb / MR) * MR), CB = std::max<int64_t>(NR, (bl.cb / NR) * NR);
    const int64_t kc_max = std::min(KC, o.k);
    float* Ap = a_scratch((size_t)(((std::min(RB, r1 - r0) + MR - 1) / MR) * MR * kc_max + kSlack));
    float* Bp = b_scratch((size_t)(((std::min(CB, c1 - c0) + NR - 1) / NR) * NR * kc_max));
    // Operands read in place instead of packed (full strips and panels only; the edges are
    // packed, zero-padded): B stored (k,n) when a single strip of rows would use the packed panel
    // once, and either operand stored k-major with a short leading dimension (A (k,m), B (k,n),
    // m or n <= kDirectLd), where a strip's or panel's kc rows are dense and packing costs about
    // as much as the product: the weight gradients dW = gᵀ·x of every layer (k = the batch's rows).
    const bool direct_a = bl.direct && o.transA && o.m <= kDirectLd;
    const bool direct_b = bl.direct && !o.transB && ((r1 - r0) <= MR || o.n <= kDirectLd);
    alignas(64) float tile[MR * NR];
    for (int64_t ib = r0; ib < r1; ib += RB) {
      const int64_t mb = std::min(RB, r1 - ib);
      for (int64_t pc = 0; pc < o.k; pc += KC) {
        const int64_t kc = std::min(KC, o.k - pc);
        const bool load_c = o.accumulate || pc > 0;
        pack_a(o, bl, ib, mb, pc, kc, Ap, direct_a);
        for (int64_t jb = c0; jb < c1; jb += CB) {
          const int64_t nb = std::min(CB, c1 - jb);
          const int64_t panels = (nb + NR - 1) / NR;
          for (int64_t q = 0; q < panels; ++q) {
            const int cols = (int)std::min<int64_t>(NR, nb - q * NR);
            if (!direct_b || cols < NR) pack_b(o, bl, jb + q * NR, cols, pc, kc, Bp + q * kc * NR);
          }
          for (int64_t s = 0; s * MR < mb; ++s) {
            const int64_t i = ib + s * MR;
            const int rows = (int)std::min<int64_t>(MR, ib + mb - i);
            const bool in_place_a = direct_a && rows == MR;
            const float* as = in_place_a ? o.A + pc * o.m + i : Ap + s * kc * MR;
            const int64_t lda = in_place_a ? o.m : MR;
            for (int64_t q = 0; q < panels; ++q) {
              const int64_t j = jb + q * NR;
              const int cols = (int)std::min<int64_t>(NR, nb - q * NR);
              const bool direct = direct_b && cols == NR;
              const float* bq = direct ? o.B + pc * o.n + j : Bp + q * kc * NR;
              const int64_t ldb = direct ? o.n : NR;
              float* c = o.C + i * o.n + j;
              if (rows == MR && cols == NR) {
                Kernel(kc, as, lda, bq, ldb, c, o.n, load_c);
              } else {
                if (load_c)
                  for (int r = 0; r < rows; ++r)
                    for (int x = 0; x < cols; ++x) tile[r * NR + x] = c[r * o.n + x];
                Kernel(kc, as, lda, bq, ldb, tile, NR, load_c);
                for (int r = 0; r < rows; ++r)
                  for (int x = 0; x < cols; ++x) c[r * o.n + x] = tile[r * NR + x];
              }
            }
          }
        }
      }
    }
  }

  // One product, split into R row ranges × G column groups when parallel.
  static void run(const Operands& o, const Blocks& bl, bool parallel) {
    const int64_t m = o.m, n = o.n;
    const int64_t strips = (m + MR - 1) / MR, panels = (n + NR - 1) / NR;
    int64_t R = 1, G = 1;
    const int threads = parallel ? num_threads() : 1;
    if (threads > 1 && 2.0 * (double)m * (double)n * (double)o.k >= 1e6) {
      // About 2 tasks per thread (dynamic balance), shaped to minimise repacking: B is packed
      // once per row range and A once per column group, i.e. a cost ~ R/m + G/n per flop.
      const int64_t target = 2 * (int64_t)threads;
      double best = 1e300;
      for (int64_t r = 1; r <= std::min(target, strips); ++r) {
        const int64_t g = std::min(panels, (target + r - 1) / r);
        const double cost = (double)r / (double)m + (double)g / (double)n + (r * g < target ? 1.0 : 0.0);
        if (cost < best) {
          best = cost;
          R = r;
          G = g;
        }
      }
    }
    // balanced ranges on strip / panel boundaries
    auto row_at = [&](int64_t t) { return std::min(m, ((strips * t) / R) * MR); };
    auto col_at = [&](int64_t t) { return std::min(n, ((panels * t) / G) * NR); };
    if (R * G == 1) {
      task(o, bl, 0, m, 0, n);
      return;
    }
    parallel_for(R * G, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t r = t / G, g = t % G;
        task(o, bl, row_at(r), row_at(r + 1), col_at(g), col_at(g + 1));
      }
    });
  }
};

// ---- plan ------------------------------------------------------------------------------------

using RunFn = void (*)(const Operands&, const Blocks&, bool);

// most rows of a product that runs the one-row kernel (SEQFAIR_GEMM_THIN overrides, for tests)
constexpr int64_t kThinRows = 2;

struct Plan {
  int mr, nr;
  Blocks blocks;
  RunFn run;
  // products with at most thin_rows rows (0: none) run a one-row kernel instead: an MR-row
  // kernel on a single row does MR times the work (m = 1 is every NARM query, batched)
  int64_t thin_rows;
  RunFn thin;
};

// Block sizes: KC = 256 keeps an A strip (MR×KC: 6 KB AVX2, 14 KB AVX-512) in L1; a B block of
// KC × CB (256 KB AVX2 for 512 KB L2 parts, 512 KB AVX-512 for ≥ 1 MB L2) in L2.
// Tuning knobs, read once (for benchmarking a new machine and for tests, not for users):
//   SEQFAIR_GEMM_BLOCKS="KC,CB,RB"       block sizes
//   SEQFAIR_GEMM_DIRECT=0                pack every operand (no in-place reads; the same bits)
//   SEQFAIR_GEMM_THIN=N                  the most rows that run the one-row kernel (0: none)
//   SEQFAIR_GEMM_SCALAR_TILE="14x32"     the scalar fallback with another tile (4x8 default, 6x16,
//                                        14x32): runs the AVX2 / AVX-512 blocking geometry (tails,
//                                        padding, task split, transposing packs) on any machine.
Plan make_plan() {
  Plan p{4, 8, {256, 256, 1024, false, true}, &Gemm<4, 8, &kernel_scalar<4, 8>>::run, 0, nullptr};
#ifdef SEQFAIR_X86
  // the one-row kernels keep 4 vectors of C in flight (4 independent FMA chains per k)
  if (simd_level() == SimdLevel::Avx512) {
    p = Plan{14, 32, {256, 512, 1024, true, true}, &Gemm<14, 32, &kernel_avx512<14, 2>>::run, kThinRows,
             &Gemm<1, 64, &kernel_avx512<1, 4>>::run};
  } else if (simd_level() == SimdLevel::Avx2) {
    p = Plan{6, 16, {256, 256, 1024, true, true}, &Gemm<6, 16, &kernel_avx2<6, 2>>::run, kThinRows,
             &Gemm<1, 32, &kernel_avx2<1, 4>>::run};
  }
#endif
  if (simd_level() == SimdLevel::Scalar) {
    if (const char* t = std::getenv("SEQFAIR_GEMM_SCALAR_TILE")) {
      // the emulation also packs like the emulated level when the CPU can
      bool avx2 = false;
#ifdef SEQFAIR_X86
      __builtin_cpu_init();
      avx2 = __builtin_cpu_supports("avx2");
#endif
      if (std::strcmp(t, "6x16") == 0) {
        p = Plan{6, 16, {256, 256, 1024, avx2, true}, &Gemm<6, 16, &kernel_scalar<6, 16>>::run, kThinRows,
                 &Gemm<1, 32, &kernel_scalar<1, 32>>::run};
      } else if (std::strcmp(t, "14x32") == 0) {
        p = Plan{14, 32, {256, 512, 1024, avx2, true}, &Gemm<14, 32, &kernel_scalar<14, 32>>::run, kThinRows,
                 &Gemm<1, 64, &kernel_scalar<1, 64>>::run};
      }
    }
  }
  if (const char* d = std::getenv("SEQFAIR_GEMM_DIRECT")) p.blocks.direct = std::strcmp(d, "0") != 0;
  if (const char* t = std::getenv("SEQFAIR_GEMM_THIN"); t && p.thin) p.thin_rows = std::max(0L, std::atol(t));
  if (const char* b = std::getenv("SEQFAIR_GEMM_BLOCKS")) {
    long kc = 0, cb = 0, rb = 0;
    if (std::sscanf(b, "%ld,%ld,%ld", &kc, &cb, &rb) == 3 && kc > 0 && cb > 0 && rb > 0) {
      p.blocks.kc = kc;
      p.blocks.cb = cb;
      p.blocks.rb = rb;
    }
  }
  return p;
}

const Plan& plan() {
  static const Plan p = make_plan();
  return p;
}

void gemm_one(const Plan& P, const float* A, const float* B, float* C, int64_t m, int64_t n, int64_t k, bool transA,
              bool transB, bool accumulate, bool parallel) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) std::fill(C, C + m * n, 0.0f);
    return;
  }
  const RunFn run = m <= P.thin_rows ? P.thin : P.run;
  run(Operands{A, B, C, m, n, k, transA, transB, accumulate}, P.blocks, parallel);
}

}  // namespace

void gemm_serial(const float* A, const float* B, float* C, int64_t batch, int64_t m, int64_t n, int64_t k,
                 bool transA, bool transB, int64_t strideA, int64_t strideB, bool accumulate) {
  const Plan& P = plan();
  for (int64_t b = 0; b < batch; ++b)
    gemm_one(P, A + b * strideA, B + b * strideB, C + b * m * n, m, n, k, transA, transB, accumulate, false);
}

void gemm(const float* A, const float* B, float* C, int64_t batch, int64_t m, int64_t n, int64_t k, bool transA,
          bool transB, int64_t strideA, int64_t strideB, bool accumulate) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const Plan& P = plan();
  const int threads = num_threads();
  const double flops = 2.0 * (double)m * (double)n * (double)std::max<int64_t>(k, 1);
  if (threads == 1 || flops * (double)batch < 1e6) {
    gemm_serial(A, B, C, batch, m, n, k, transA, transB, strideA, strideB, accumulate);
  } else if (batch >= 2 * threads || (batch > 1 && flops < 4e6)) {
    // many (or small) products: whole products per task, each on one thread
    parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        gemm_one(P, A + b * strideA, B + b * strideB, C + b * m * n, m, n, k, transA, transB, accumulate, false);
    });
  } else {
    for (int64_t b = 0; b < batch; ++b)
      gemm_one(P, A + b * strideA, B + b * strideB, C + b * m * n, m, n, k, transA, transB, accumulate, true);
  }
}

}  // namespace seqfair
