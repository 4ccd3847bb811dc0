// GEMM and batched GEMM (no cuBLAS): C[b] (m,n) (+)= op(A[b]) (m,k) · op(B[b]) (k,n), f32.
//
// Tiling: a block of 256 threads computes a 64×64 tile of C; the k axis is walked in steps of 16
// through shared memory (As[16][64+4], Bs[16][64+4]: the +4 keeps the column reads of a warp on
// distinct banks), each thread accumulating a 4×4 micro-tile in registers with fmaf. The
// transposes are folded into the tile loads (each load instruction reads consecutive addresses
// of whichever operand layout is given), so no transposed copy is ever made.
// Order of summation: every output sums its k products in increasing p, so identical input rows
// give identical outputs wherever they sit in the matrix (cosine top-k relies on it).
//
// Split-k (deterministic): when the tiles alone cannot fill the GPU — the weight gradients
// dW = Xᵀ·dY have a small output and k = batch·length — the k axis is cut into S chunks whose
// partial tiles go to a workspace and are summed in chunk order by a second kernel. S depends on
// the shapes only (never on the device), so results are the same on every GPU.
#include <algorithm>

#include "cuda/kernels.h"
#include "cuda/launch.h"

namespace seqfair {
namespace cuda {
namespace {

constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
constexpr int kGemmThreads = (BM / TM) * (BN / TN);  // 256

struct GemmKernelArgs {
  GemmArgs g;
  int64_t tiles_m, tiles_n;
  int64_t splits, k_chunk;  // split s covers p in [s*k_chunk, min(k, (s+1)*k_chunk))
  float* partial;           // splits > 1: (splits, batch, m, n) workspace
};

template <bool TA, bool TB>
__global__ void __launch_bounds__(256) sfk_gemm_tiled(GemmKernelArgs ka) {
  __shared__ float As[BK][BM + 4];  // As[p][i] = op(A)(i0 + i, p0 + p)
  __shared__ float Bs[BK][BN + 4];  // Bs[p][j] = op(B)(p0 + p, j0 + j)
  const GemmArgs& g = ka.g;
  const int tid = (int)threadIdx.x;
  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int64_t zs = g.batch * ka.splits;
  for (int64_t z = blockIdx.z; z < zs; z += gridDim.z) {
    const int64_t bz = z / ka.splits, s = z % ka.splits;
    const float* A = g.a + bz * g.stride_a;
    const float* B = g.b + bz * g.stride_b;
    const int64_t kb = s * ka.k_chunk;
    const int64_t ke = min64(g.k, kb + ka.k_chunk);
    for (int64_t tm = blockIdx.y; tm < ka.tiles_m; tm += gridDim.y) {
      for (int64_t tn = blockIdx.x; tn < ka.tiles_n; tn += gridDim.x) {
        const int64_t i0 = tm * BM, j0 = tn * BN;
        float acc[TM][TN];
        SEQFAIR_UNROLL
        for (int r = 0; r < TM; ++r)
          SEQFAIR_UNROLL
          for (int c = 0; c < TN; ++c) acc[r][c] = 0.0f;
        for (int64_t p0 = kb; p0 < ke; p0 += BK) {
          for (int e = tid; e < BM * BK; e += kGemmThreads) {
            int i, p;
            if (TA) {
              p = e / BM;
              i = e % BM;
            } else {
              i = e / BK;
              p = e % BK;
            }
            const int64_t gi = i0 + i, gp = p0 + p;
            float v = 0.0f;
            if (gi < g.m && gp < ke) v = TA ? A[gp * g.lda + gi] : A[gi * g.lda + gp];
            As[p][i] = v;
          }
          for (int e = tid; e < BN * BK; e += kGemmThreads) {
            int j, p;
            if (TB) {
              j = e / BK;
              p = e % BK;
            } else {
              p = e / BN;
              j = e % BN;
            }
            const int64_t gj = j0 + j, gp = p0 + p;
            float v = 0.0f;
            if (gj < g.n && gp < ke) v = TB ? B[gj * g.ldb + gp] : B[gp * g.ldb + gj];
            Bs[p][j] = v;
          }
          __syncthreads();
          SEQFAIR_UNROLL
          for (int p = 0; p < BK; ++p) {
            float av[TM], bv[TN];
            SEQFAIR_UNROLL
            for (int r = 0; r < TM; ++r) av[r] = As[p][ty * TM + r];
            SEQFAIR_UNROLL
            for (int c = 0; c < TN; ++c) bv[c] = Bs[p][tx * TN + c];
            SEQFAIR_UNROLL
            for (int r = 0; r < TM; ++r)
              SEQFAIR_UNROLL
              for (int c = 0; c < TN; ++c) acc[r][c] = fmaf(av[r], bv[c], acc[r][c]);
          }
          __syncthreads();
        }
        SEQFAIR_UNROLL
        for (int r = 0; r < TM; ++r) {
          const int64_t i = i0 + ty * TM + r;
          if (i >= g.m) continue;
          SEQFAIR_UNROLL
          for (int c = 0; c < TN; ++c) {
            const int64_t j = j0 + tx * TN + c;
            if (j >= g.n) continue;
            if (ka.splits > 1) {
              ka.partial[((s * g.batch + bz) * g.m + i) * g.n + j] = acc[r][c];
            } else {
              float* C = g.c + bz * g.stride_c + i * g.ldc + j;
              *C = g.accumulate ? *C + acc[r][c] : acc[r][c];
            }
          }
        }
      }
    }
  }
}

// C (+)= Σ_s partial[s] in split order, one thread per output element
__global__ void sfk_gemm_splitk_reduce(GemmArgs g, int64_t splits, const float* partial) {
  const int64_t total = g.batch * g.m * g.n;
  const int64_t plane = total;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t bz = e / (g.m * g.n), rem = e % (g.m * g.n), i = rem / g.n, j = rem % g.n;
    float acc = partial[e];
    for (int64_t s = 1; s < splits; ++s) acc += partial[s * plane + e];
    float* C = g.c + bz * g.stride_c + i * g.ldc + j;
    *C = g.accumulate ? *C + acc : acc;
  }
}

// C = 0 or unchanged when k == 0 (no products)
__global__ void sfk_gemm_k0(GemmArgs g) {
  const int64_t total = g.batch * g.m * g.n;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t bz = e / (g.m * g.n), rem = e % (g.m * g.n), i = rem / g.n, j = rem % g.n;
    g.c[bz * g.stride_c + i * g.ldc + j] = 0.0f;
  }
}

template <bool TA, bool TB>
void launch_tiled(const GemmKernelArgs& ka) {
  const dim3 grid((unsigned)std::min<int64_t>(ka.tiles_n, 65535), (unsigned)std::min<int64_t>(ka.tiles_m, 65535),
                  (unsigned)std::min<int64_t>(ka.g.batch * ka.splits, 65535));
  SEQFAIR_LAUNCH(grid, dim3(kGemmThreads), 0, stream(), sfk_gemm_tiled<TA, TB>)(ka);
  check_launch("sfk_gemm_tiled");
}

}  // namespace

void gemm(const GemmArgs& g) {
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) {
    if (!g.accumulate) {
      SEQFAIR_LAUNCH(grid_for(g.batch * g.m * g.n, kThreads), dim3(kThreads), 0, stream(), sfk_gemm_k0)(g);
      check_launch("sfk_gemm_k0");
    }
    return;
  }
  GemmKernelArgs ka;
  ka.g = g;
  ka.tiles_m = (g.m + BM - 1) / BM;
  ka.tiles_n = (g.n + BN - 1) / BN;
  ka.splits = 1;
  ka.k_chunk = g.k;
  ka.partial = nullptr;
  // split k when the output tiles are few and k is long (shape-only rule, see the file comment)
  const int64_t tiles = ka.tiles_m * ka.tiles_n * g.batch;
  if (g.allow_split_k && tiles < 128 && g.k >= 1024) {
    int64_t s = std::min<int64_t>(g.k / 512, (256 + tiles - 1) / tiles);
    const int64_t plane = g.batch * g.m * g.n;
    s = std::min<int64_t>(s, std::max<int64_t>(1, (int64_t(64) << 20) / 4 / plane));  // workspace <= 64 MiB
    if (s > 1) {
      ka.k_chunk = ((g.k + s - 1) / s + BK - 1) / BK * BK;
      ka.splits = (g.k + ka.k_chunk - 1) / ka.k_chunk;
    }
  }
  if (ka.splits > 1) {
    Scratch<float> partial(ka.splits * g.batch * g.m * g.n);
    ka.partial = partial.get();
    if (g.trans_a) {
      if (g.trans_b) launch_tiled<true, true>(ka); else launch_tiled<true, false>(ka);
    } else {
      if (g.trans_b) launch_tiled<false, true>(ka); else launch_tiled<false, false>(ka);
    }
    SEQFAIR_LAUNCH(grid_for(g.batch * g.m * g.n, kThreads), dim3(kThreads), 0, stream(),
                   sfk_gemm_splitk_reduce)(g, ka.splits, ka.partial);
    check_launch("sfk_gemm_splitk_reduce");
    return;
  }
  if (g.trans_a) {
    if (g.trans_b) launch_tiled<true, true>(ka); else launch_tiled<true, false>(ka);
  } else {
    if (g.trans_b) launch_tiled<false, true>(ka); else launch_tiled<false, false>(ka);
  }
}

void gemm_contiguous(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n, int64_t k,
                     bool trans_a, bool trans_b, bool batched_a, bool batched_b, bool accumulate) {
  GemmArgs g;
  g.a = a;
  g.lda = trans_a ? m : k;
  g.stride_a = batched_a ? m * k : 0;
  g.trans_a = trans_a;
  g.b = b;
  g.ldb = trans_b ? k : n;
  g.stride_b = batched_b ? k * n : 0;
  g.trans_b = trans_b;
  g.c = c;
  g.ldc = n;
  g.stride_c = m * n;
  g.batch = batch;
  g.m = m;
  g.n = n;
  g.k = k;
  g.accumulate = accumulate;
  gemm(g);
}

}  // namespace cuda
}  // namespace seqfair
