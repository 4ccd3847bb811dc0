// CPU drivers of the A-FSR neighbourhood kernels (top-k rules: seqfair/topk.h).
//
// cosine_topk, x (N,D), Q queries -> indices, similarities (Q,k):
//   1. every row is normalised once (norm in double; zero rows stay zero, so their similarity
//      with anything is exactly 0, as FORMAT.md 4.10 asks);
//   2. rows whose normalised vectors are bitwise identical are grouped (a sort of the rows by
//      their bytes): each group is ONE candidate column of the GEMM, expanded into its members
//      (ascending index) at insertion time. So duplicated rows and zero rows get exactly the same
//      similarity with every query whatever the GEMM's blocking does with column positions —
//      the exact ties the fixtures pin down — and duplicates cost one column, not many;
//   3. blocks of kQBlock queries × kCBlock candidate groups go through gemm_serial into a
//      thread-local tile, and each query keeps a top-k list (topk.h). Work items are
//      (query block, candidate split); the splits' lists are merged per query in split order.
//      The (value desc, index asc) order is a strict total order, so the result is the exact
//      top-k for any split and any thread count.
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
#include "cpu/parallel.h"
#include "cpu/vmath.h"
#include "seqfair/rows.h"
#include "seqfair/topk.h"

namespace seqfair {
namespace {

constexpr int64_t kQBlock = 128;   // queries per tile
constexpr int64_t kCBlock = 256;   // candidate groups per tile
constexpr int64_t kMinItems = 64;  // aim for at least this many (query block, split) items

}  // namespace

void cosine_topk(const float* x, const int32_t* queries, int64_t Q, int32_t* indices, float* similarities, int64_t N,
                 int64_t D, int64_t k) {
  if (Q == 0 || k == 0) return;
  // 1. normalised rows (seqfair/rows.h, as the CUDA kernel; -0 becomes +0 so equal rows compare
  //    equal bytewise)
  std::vector<float> xn((size_t)(N * D));
  parallel_for(N, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, D)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) cosine_normalize_row(x + i * D, xn.data() + i * D, D);
  });

  // 2. groups of bitwise-identical rows: members ascending, one representative row per group
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

  // 3. tiles of queries × candidate groups, per-query top-k lists per split
  const int64_t nqb = (Q + kQBlock - 1) / kQBlock;
  const int64_t ncb = (M + kCBlock - 1) / kCBlock;
  int64_t want = std::max<int64_t>(1, std::min<int64_t>((kMinItems + nqb - 1) / nqb, ncb));
  const int64_t cps = (ncb + want - 1) / want;
  const int64_t S = (ncb + cps - 1) / cps;
  std::vector<float> pv((size_t)(Q * S * k));
  std::vector<int32_t> pi((size_t)(Q * S * k));
  std::vector<int32_t> pc((size_t)(Q * S), 0);
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
          float* vals = pv.data() + (q * S + s) * k;
          int32_t* ids = pi.data() + (q * S + s) * k;
          int32_t* cnt = pc.data() + q * S + s;
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

  // 4. merge the splits' lists of each query in split order
  parallel_for(Q, 256, [&](int64_t a, int64_t b) {
    for (int64_t q = a; q < b; ++q) {
      float* vals = pv.data() + q * S * k;
      int32_t* ids = pi.data() + q * S * k;
      int32_t* cnt = pc.data() + q * S;
      for (int64_t s = 1; s < S; ++s) {
        const float* sv = pv.data() + (q * S + s) * k;
        const int32_t* si = pi.data() + (q * S + s) * k;
        for (int32_t m = 0; m < pc[(size_t)(q * S + s)]; ++m) {
          if (!topk_insert(vals, ids, cnt, k32, sv[m], si[m])) break;  // the rest of a sorted list is worse
        }
      }
      // k <= N-1 candidates always exist, so the list is full
      for (int64_t m = 0; m < k; ++m) {
        indices[q * k + m] = m < *cnt ? ids[m] : -1;
        similarities[q * k + m] = m < *cnt ? vals[m] : 0.0f;
      }
    }
  });
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
