// CPU drivers of the A-FSR neighbourhood kernels (top-k rules: seqfair/topk.h).
//
// cosine_topk, x (N,D), Q queries -> indices, similarities (Q,k):
//   1. every row is normalised once (cosine_normalize_row: norm in double; zero rows stay zero,
//      so their similarity with anything is exactly 0, as FORMAT.md 4.10 asks);
//   2. AVX2 and finite rows: the integer screen of cpu/neighbours_int8.h passes only candidates
//      that can still enter a query's list; those get the exact float similarity (exact_dot, one
//      fixed order per pair, so duplicated rows tie exactly) and topk_insert;
//      otherwise: the float GEMM path (topk_gemm below) with bitwise-identical rows grouped.
//   Work items are (query block, candidate split); the splits' lists are merged per query in
//   split order. The (value desc, index asc) order is a strict total order, so the result is the
//   exact top-k for any split and any thread count.
// two_hop: per row, gather N1(i) ∪ N1(N1(i)), sort, dedupe, drop i (topk.h), pad with -1.
// neighbour_mix: rows in parallel; backward buckets the (r,j) entries by id with a counting sort,
//   then each task owns table rows and sums their entries in (r,j) order (deterministic).
#include "cpu/neighbours.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "cpu/gemm_tile.h"
#include "cpu/neighbours_int8.h"
#include "cpu/parallel.h"
#include "cpu/simd.h"
#include "cpu/vmath.h"
#include "seqfair/rows.h"
#include "seqfair/topk.h"

namespace seqfair {
namespace {

constexpr int64_t kQBlock = 128;   // GEMM path: queries per tile
constexpr int64_t kCBlock = 256;   // GEMM path: candidate groups per tile
constexpr int64_t kMinItems = 64;  // GEMM path: aim for at least this many (query block, split) items
constexpr int64_t kScreenQ = 256;  // screen: queries per work item (8 of them are in L1 at a time)
constexpr int64_t kScreenC = 4096; // screen: candidates per chunk (their bytes stay in L2)

// Per-(query, split) top-k lists, merged per query in split order into the outputs. The
// (value desc, index asc) order is strict and total, so the result does not depend on the split.
struct SplitLists {
  int64_t Q, S, k;
  std::vector<float> vals;
  std::vector<int32_t> ids, cnt;
  SplitLists(int64_t Q_, int64_t S_, int64_t k_)
      : Q(Q_), S(S_), k(k_), vals((size_t)(Q_ * S_ * k_)), ids((size_t)(Q_ * S_ * k_)), cnt((size_t)(Q_ * S_), 0) {}
  float* v(int64_t q, int64_t s) { return vals.data() + (q * S + s) * k; }
  int32_t* i(int64_t q, int64_t s) { return ids.data() + (q * S + s) * k; }
  int32_t* c(int64_t q, int64_t s) { return cnt.data() + q * S + s; }

  void merge_into(int32_t* indices, float* similarities) {
    const int32_t k32 = (int32_t)k;
    parallel_for(Q, 256, [&](int64_t a, int64_t b) {
      for (int64_t q = a; q < b; ++q) {
        for (int64_t s = 1; s < S; ++s) {
          for (int32_t m = 0; m < *c(q, s); ++m) {
            // the rest of a sorted list is worse
            if (!topk_insert(v(q, 0), i(q, 0), c(q, 0), k32, v(q, s)[m], i(q, s)[m])) break;
          }
        }
        // k <= N-1 candidates always exist, so the list is full
        for (int64_t m = 0; m < k; ++m) {
          indices[q * k + m] = m < *c(q, 0) ? i(q, 0)[m] : -1;
          similarities[q * k + m] = m < *c(q, 0) ? v(q, 0)[m] : 0.0f;
        }
      }
    });
  }
};

// splits of `chunks` candidate chunks so that (query blocks × splits) has at least `want` items
int64_t splits_for(int64_t query_blocks, int64_t chunks, int64_t want) {
  return std::max<int64_t>(1, std::min<int64_t>((want + query_blocks - 1) / query_blocks, chunks));
}

// The float GEMM path (no AVX2, or rows that are not finite): rows whose normalised vectors are
// bitwise identical are grouped (a sort of the rows by their bytes): each group is ONE candidate
// column of the GEMM, expanded into its members (ascending index) at insertion time. So duplicated
// rows and zero rows get exactly the same similarity with every query whatever the GEMM's
// blocking does with column positions, and duplicates cost one column, not many. Blocks of
// kQBlock queries × kCBlock groups go through gemm_serial into a thread-local tile.
void topk_gemm(const std::vector<float>& xn, const int32_t* queries, int64_t Q, int32_t* indices, float* similarities,
               int64_t N, int64_t D, int64_t k) {
  std::vector<int32_t> order((size_t)N);
  std::iota(order.begin(), order.end(), 0);
  const size_t row_bytes = sizeof(float) * (size_t)D;
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const int c = row_bytes ? std::memcmp(xn.data() + a * D, xn.data() + b * D, row_bytes) : 0;
    return c != 0 ? c < 0 : a < b;
  });
  std::vector<int64_t> goff;  // group g's members are order[goff[g] .. goff[g+1])
  for (int64_t p = 0; p < N; ++p) {
    if (p == 0 || (row_bytes && std::memcmp(xn.data() + (int64_t)order[(size_t)p] * D,
                                            xn.data() + (int64_t)order[(size_t)(p - 1)] * D, row_bytes) != 0)) {
      goff.push_back(p);
    }
  }
  const int64_t M = (int64_t)goff.size();
  goff.push_back(N);
  std::vector<float> un((size_t)(M * D));
  for (int64_t g = 0; g < M; ++g) {
    std::memcpy(un.data() + g * D, xn.data() + (int64_t)order[(size_t)goff[(size_t)g]] * D, row_bytes);
  }

  const int64_t nqb = (Q + kQBlock - 1) / kQBlock;
  const int64_t ncb = (M + kCBlock - 1) / kCBlock;
  const int64_t want = splits_for(nqb, ncb, kMinItems);
  const int64_t cps = (ncb + want - 1) / want;
  const int64_t S = (ncb + cps - 1) / cps;
  SplitLists lists(Q, S, k);
  const int32_t k32 = (int32_t)k;

  parallel_for(nqb * S, 1, [&](int64_t w0, int64_t w1) {
    std::vector<float> qbuf((size_t)(kQBlock * D)), tile((size_t)(kQBlock * kCBlock));
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t qb = w / S, s = w % S;
      const int64_t q0 = qb * kQBlock, qn = std::min(kQBlock, Q - q0);
      for (int64_t r = 0; r < qn; ++r) {
        const int64_t i = queries ? queries[q0 + r] : q0 + r;
        std::memcpy(qbuf.data() + r * D, xn.data() + i * D, row_bytes);
      }
      const int64_t c0 = s * cps, c1 = std::min(ncb, c0 + cps);
      for (int64_t cb = c0; cb < c1; ++cb) {
        const int64_t g0 = cb * kCBlock, gn = std::min(kCBlock, M - g0);
        gemm_tile(qbuf.data(), un.data() + g0 * D, tile.data(), qn, gn, D, false, true, false);
        for (int64_t r = 0; r < qn; ++r) {
          const int64_t q = q0 + r;
          const int32_t self = (int32_t)(queries ? queries[q] : q);
          float* vals = lists.v(q, s);
          int32_t* ids = lists.i(q, s);
          int32_t* cnt = lists.c(q, s);
          const float* trow = tile.data() + r * gn;
          // entry threshold kept in a register: most candidates fail this one comparison
          float thr = *cnt == k32 ? vals[k - 1] : -INFINITY;
          for (int64_t u = vm::find_ge(trow, gn, thr); u < gn; u += 1 + vm::find_ge(trow + u + 1, gn - u - 1, thr)) {
            const float sim = trow[u] + 0.0f;
            const int64_t g = g0 + u;
            for (int64_t m = goff[(size_t)g]; m < goff[(size_t)g + 1]; ++m) {
              const int32_t j = order[(size_t)m];
              if (j == self) continue;
              if (!topk_insert(vals, ids, cnt, k32, sim, j)) break;
            }
            thr = *cnt == k32 ? vals[k - 1] : -INFINITY;
          }
        }
      }
    }
  });
  lists.merge_into(indices, similarities);
}

#if defined(__x86_64__) || defined(__i386__)
// The screened path (cpu/neighbours_int8.h). Returns false (nothing written) when every row is
// zero, where the screen has no scale. Each work item is (block of kScreenQ queries, split of the
// candidates); inside, chunks of kScreenC candidates are screened against 4 queries at a time.
// Candidates are met in increasing index order within a split, exact values come from exact_dot
// (one value per pair wherever it is met, so duplicated rows tie exactly and ties go to the
// smaller index by topk_insert), and a skipped candidate is strictly below the k-th best.
bool topk_screened(const std::vector<float>& xn, const int32_t* queries, int64_t Q, int32_t* indices,
                   float* similarities, int64_t N, int64_t D, int64_t k) {
  using namespace topk_i8;
  const int64_t Dp = round_up(std::max<int64_t>(D, 1), 8), n_pad = round_up(N, 8);
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, D));
  // candidate scale b from the largest |x|; then the bytes and the measured error bounds
  const int64_t nchunk = (N + grain - 1) / grain;
  std::vector<double> part((size_t)nchunk * 2, 0.0);
  parallel_for(nchunk, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t i0 = c * grain * D, i1 = std::min(N, (c + 1) * grain) * D;
      part[(size_t)c] = max_abs(xn.data() + i0, i1 - i0);
    }
  });
  double xmax = 0;
  for (int64_t c = 0; c < nchunk; ++c) xmax = std::max(xmax, part[(size_t)c]);
  if (xmax == 0) return false;
  const double b = 31.0 / xmax;
  std::vector<uint8_t> packed((size_t)(n_pad * Dp), 32);  // padding: x̂ = 0 (skipped by index anyway)
  parallel_for(nchunk, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double ex = 0, l1 = 0;
      for (int64_t j = c * grain; j < std::min(N, (c + 1) * grain); ++j) {
        quantize_candidate(xn.data() + j * D, D, b, j, Dp, packed.data(), &ex, &l1);
      }
      part[(size_t)c] = ex;
      part[(size_t)(nchunk + c)] = l1;
    }
  });
  double ex = 0, l1x = 0;
  for (int64_t c = 0; c < nchunk; ++c) {
    ex = std::max(ex, part[(size_t)c]);
    l1x = std::max(l1x, part[(size_t)(nchunk + c)]);
  }
  // queries: scale a, 32 Σ q̂ and the bound E (+ the float rounding of exact_dot); their bytes
  // are written per work item (a 256-query block), never for all queries at once
  std::vector<double> qa((size_t)Q), qerr((size_t)Q);
  std::vector<int32_t> qoff((size_t)Q);
  const double slack = (double)D * std::ldexp(1.0, -22) + 1e-6;
  auto qrow = [&](int64_t r) { return xn.data() + (queries ? queries[r] : r) * D; };
  parallel_for(Q, std::max<int64_t>(1, grain), [&](int64_t a0, int64_t a1) {
    for (int64_t r = a0; r < a1; ++r) {
      const float* qv = qrow(r);
      double mx = 0, l1 = 0;
      for (int64_t d = 0; d < D; ++d) {
        mx = std::max(mx, (double)std::fabs(qv[d]));
        l1 += std::fabs((double)qv[d]);
      }
      const double a = mx > 0 ? 127.0 / mx : 1.0;
      double eq = 0;
      int32_t sum = 0;
      for (int64_t d = 0; d < D; ++d) {
        const double t = quantize_query_value(qv[d], a);
        eq = std::max(eq, std::fabs(t / a - (double)qv[d]));
        sum += (int32_t)t;
      }
      qa[(size_t)r] = a;
      qerr[(size_t)r] = ex * l1 + eq * l1x + (double)D * eq * ex + slack;
      qoff[(size_t)r] = 32 * sum;
    }
  });

  const int64_t nqb = (Q + kScreenQ - 1) / kScreenQ;
  const int64_t nch = (n_pad + kScreenC - 1) / kScreenC;
  const int64_t S = splits_for(nqb, nch, 8 * num_threads());
  const int64_t cps = (nch + S - 1) / S;
  SplitLists lists(Q, S, k);
  const int32_t k32 = (int32_t)k;

  parallel_for(nqb * S, 1, [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t qb = w / S, s = w % S;
      const int64_t q0 = qb * kScreenQ, qn = std::min(kScreenQ, Q - q0);
      // the block's bytes q̂, each group of 4 repeated 8 times (screen_tile's layout); rows past
      // qn stay 0 (they never pass, see thr)
      thread_local std::vector<int8_t> q8;
      q8.assign((size_t)(kScreenQ * 8 * Dp), 0);
      for (int64_t r = 0; r < qn; ++r) {
        const float* qv = qrow(q0 + r);
        const double a = qa[(size_t)(q0 + r)];
        for (int64_t d = 0; d < D; ++d) {
          const int8_t t = (int8_t)quantize_query_value(qv[d], a);
          for (int64_t c = 0; c < 8; ++c) q8[(size_t)(r * 8 * Dp + (d >> 2) * 32 + c * 4 + (d & 3))] = t;
        }
      }
      // thr = T + 32 Σ q̂. Lists start empty: T = kTMin, every candidate passes. Padding query
      // rows (q̂ = 0, sum 0) never pass: thr = kTMax.
      int32_t thr[kScreenQ];
      for (int64_t r = 0; r < kScreenQ; ++r) thr[r] = r < qn ? kTMin + qoff[(size_t)(q0 + r)] : kTMax;
      auto update_thr = [&](int64_t q) {
        const int32_t* cnt = lists.c(q, s);
        if (*cnt < k32) return;
        const double t = std::floor(((double)lists.v(q, s)[k - 1] - qerr[(size_t)q]) * qa[(size_t)q] * b);
        thr[q - q0] = (int32_t)std::min<double>(kTMax, std::max<double>(kTMin, t)) + qoff[(size_t)q];
      };
      const int64_t j_end = std::min(n_pad, (s * cps + cps) * kScreenC);
      for (int64_t j0 = s * cps * kScreenC; j0 < j_end; j0 += kScreenC) {
        const int64_t j1 = std::min(j_end, j0 + kScreenC);
        for (int64_t r8 = 0; r8 < qn; r8 += 8) {
          const int8_t* qrows = q8.data() + r8 * 8 * Dp;
          for (int64_t t = j0; t < j1; t += 8) {
            auto pass = [&](int r, int mask) {
              const int64_t q = q0 + r8 + r;
              const int64_t self = queries ? queries[q] : q;
              const float* qv = xn.data() + self * D;
              for (; mask; mask &= mask - 1) {
                const int64_t j = t + __builtin_ctz((unsigned)mask);
                if (j == self || j >= N) continue;  // j >= N: padding of the last block
                const float sim = exact_dot(qv, xn.data() + j * D, D);
                if (topk_insert(lists.v(q, s), lists.i(q, s), lists.c(q, s), k32, sim, (int32_t)j)) update_thr(q);
              }
            };
            screen_tile(qrows, Dp, packed.data() + t * Dp, thr + r8, pass);
          }
        }
      }
    }
  });
  lists.merge_into(indices, similarities);
  return true;
}
#endif

}  // namespace

void cosine_topk(const float* x, const int32_t* queries, int64_t Q, int32_t* indices, float* similarities, int64_t N,
                 int64_t D, int64_t k) {
  if (Q == 0 || k == 0) return;
  // normalised rows (seqfair/rows.h, as the CUDA kernel; -0 becomes +0 so equal rows compare
  // equal bytewise); the screen needs finite values
  std::vector<float> xn((size_t)(N * D));
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, D));
  const int64_t nchunk = (N + grain - 1) / grain;
  std::vector<char> finite((size_t)nchunk, 1);
  parallel_for(nchunk, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t i = c * grain; i < std::min(N, (c + 1) * grain); ++i) {
        cosine_normalize_row(x + i * D, xn.data() + i * D, D);
        // a row with a NaN or ±inf normalises to a row with NaN (|y| <= 1 otherwise)
        if (!topk_i8::row_finite(xn.data() + i * D, D)) finite[(size_t)c] = 0;
      }
    }
  });
  const bool all_finite = std::all_of(finite.begin(), finite.end(), [](char f) { return f != 0; });
#if defined(__x86_64__) || defined(__i386__)
  // |Σ (x̂+32) q̂| <= 63·127·Dp must stay far inside int32
  if (simd_level() != SimdLevel::Scalar && all_finite && D <= 16384 &&
      topk_screened(xn, queries, Q, indices, similarities, N, D, k)) {
    return;
  }
#endif
  topk_gemm(xn, queries, Q, indices, similarities, N, D, k);
}

void two_hop(const int32_t* indices, int32_t* two_hop_out, int32_t* count, int64_t N, int64_t k) {
  const int64_t width = k + k * k;
  parallel_for(N, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, width)), [&](int64_t i0, int64_t i1) {
    std::vector<int32_t> buf((size_t)width);
    for (int64_t i = i0; i < i1; ++i) {
      int64_t n = 0;
      for (int64_t m = 0; m < k; ++m) {
        const int32_t j = indices[i * k + m];
        buf[(size_t)n++] = j;
        for (int64_t m2 = 0; m2 < k; ++m2) buf[(size_t)n++] = indices[(int64_t)j * k + m2];
      }
      const int32_t c = sorted_unique_without(buf.data(), (int32_t)n, (int32_t)i);
      int32_t* row = two_hop_out + i * width;
      std::copy(buf.begin(), buf.begin() + c, row);
      std::fill(row + c, row + width, -1);
      count[i] = c;
    }
  });
}

void neighbour_mix(const float* table, const int32_t* ids, const float* w, float* out, int64_t R, int64_t K, int64_t V,
                   int64_t D) {
  parallel_for(R, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, K * D)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* o = out + r * D;
      std::fill(o, o + D, 0.0f);
      for (int64_t j = 0; j < K; ++j) {
        const int32_t id = ids[r * K + j];
        if (id < 0) continue;
        const float wj = w[r * K + j];
        const float* t = table + (int64_t)id * D;
        for (int64_t d = 0; d < D; ++d) o[d] += wj * t[d];
      }
    }
  });
}

void neighbour_mix_backward(const float* dout, const int32_t* ids, const float* w, float* dtable, int64_t R, int64_t K,
                            int64_t V, int64_t D) {
  // counting sort of the entries e = r*K + j by id, stable in e
  std::vector<int64_t> off((size_t)V + 1, 0);
  const int64_t E = R * K;
  for (int64_t e = 0; e < E; ++e)
    if (ids[e] >= 0) ++off[(size_t)ids[e] + 1];
  for (int64_t v = 0; v < V; ++v) off[(size_t)v + 1] += off[(size_t)v];
  std::vector<int64_t> pos(off.begin(), off.end() - 1), entries((size_t)off[(size_t)V]);
  for (int64_t e = 0; e < E; ++e)
    if (ids[e] >= 0) entries[(size_t)pos[(size_t)ids[e]]++] = e;
  parallel_for(V, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, D)), [&](int64_t v0, int64_t v1) {
    for (int64_t v = v0; v < v1; ++v) {
      float* row = dtable + v * D;
      std::fill(row, row + D, 0.0f);
      for (int64_t p = off[(size_t)v]; p < off[(size_t)v + 1]; ++p) {
        const int64_t e = entries[(size_t)p];
        const float we = w[e];
        const float* g = dout + (e / K) * D;
        for (int64_t d = 0; d < D; ++d) row[d] += we * g[d];
      }
    }
  });
}

}  // namespace seqfair
