// CPU drivers of softmax cross-entropy (FORMAT.md 4.6) and of the fused output projection +
// cross-entropy (FORMAT.md 4.7). Per-row math: seqfair/cross_entropy.h, online log-sum-exp:
// seqfair/softmax.h, vector exp: cpu/vmath.h.
//
// Fused projection, shapes: hidden (N,D), table (V,D), targets (N) -> loss (N), lse (N).
//   Only the rows that are not ignored ("active", Na of them) are gathered into Hact (Na,D), so a
//   padding-heavy batch costs nothing for its padding. The logits are produced tile by tile:
//   (kRowBlock active rows) × (kChunk items) through gemm_serial into a thread-local buffer, and
//   each tile is folded into per-row online log-sum-exp states at once, so at most
//   kRowBlock × kChunk logits exist per thread and (N,V) is never materialised.
//   Work items are (row block, item split): when there are few row blocks the item axis is cut
//   into S splits whose partial states (or partial dHidden rows) are merged in split order. S
//   depends only on (Na, V), never on the thread count, so results are identical for any number
//   of threads.
// Backward (G = dLoss·w·(softmax - onehot), tile by tile, never whole), in ONE pass: each logit
//   tile is recomputed once, turned into G in place, and feeds both products
//     dHidden[rows] += G · table[items],   dTable[items] += G^T · Hact[rows].
//   Work is a grid of R row groups × S item splits (make_grid; R, S depend only on the sizes). A
//   task owns its (group, split) cell; it accumulates dHidden into the partial of its split and
//   dTable into the partial of its group, each in a fixed order (row blocks ascending, chunks
//   ascending), and the partials are summed in split / group order afterwards - deterministic for
//   any thread count, no atomics. So the forward and backward together cost 4 GEMM-sized products
//   (the forward's logits, and in the backward the logits again plus the two gradients) instead of
//   3 with stored logits: the price of never holding (N,V).
// Forward + backward in one call (proj_ce_forward_backward, for losses whose upstream gradient is
//   known before the forward): each row block keeps its kRowBlock × V logits for the backward, 3
//   products, the same bits as the two calls.
#include "cpu/cross_entropy.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/gemm_tile.h"
#include "cpu/parallel.h"
#include "cpu/vmath.h"
#include "cpu/workspace.h"
#include "seqfair/cross_entropy.h"
#include "seqfair/softmax.h"

namespace seqfair {
namespace {

// Tile shapes: both sides of a logit tile are >= 126 so that gemm_serial's packing of the
// operands (rows × D and items × D) is amortised over the other side; a tile is 32K floats (126 KB).
constexpr int64_t kRowBlock = 126;  // active rows per logit tile: a multiple of the GEMM's MR (6, 14)
constexpr int64_t kChunk = 256;     // items per logit tile
constexpr int64_t kLseChunk = 2048; // columns summed in float before the double accumulation
constexpr int64_t kMinItems = 64;   // aim for at least this many (row block, split) work items

// C (m,n) = A (m,k) · B (n,k)^T
void tile_nt(const float* A, const float* B, float* C, int64_t m, int64_t n, int64_t k) {
  gemm_tile(A, B, C, m, n, k, false, true, false);
}

// log Σ exp(x) of one row (max-shifted; chunks summed in float lanes, accumulated in double)
double row_lse(const float* x, int64_t C) {
  const float mx = vm::max_of(x, C);
  if (mx == -INFINITY || !std::isfinite(mx)) return C == 0 ? -INFINITY : (double)mx;
  double sum = 0;
  for (int64_t c0 = 0; c0 < C; c0 += kLseChunk)
    sum += vm::exp_shift_sum(x + c0, nullptr, std::min(kLseChunk, C - c0), mx);
  return (double)mx + std::log(sum);
}

struct Plan {
  int64_t na, nrb, nchunks, cps, splits;
  int64_t items() const { return nrb * splits; }
};

Plan make_plan(int64_t na, int64_t V) {
  Plan p;
  p.na = na;
  p.nrb = (na + kRowBlock - 1) / kRowBlock;
  p.nchunks = std::max<int64_t>(1, (V + kChunk - 1) / kChunk);
  int64_t want = p.nrb > 0 ? (kMinItems + p.nrb - 1) / p.nrb : 1;
  want = std::max<int64_t>(1, std::min(want, p.nchunks));
  p.cps = (p.nchunks + want - 1) / want;  // chunks per split
  p.splits = (p.nchunks + p.cps - 1) / p.cps;
  return p;
}

// gathers the active rows of hidden into a contiguous (na, D) buffer
std::vector<float> gather_rows(const float* hidden, const std::vector<int64_t>& act, int64_t D) {
  std::vector<float> h((size_t)(act.size() * D));
  parallel_for((int64_t)act.size(), std::max<int64_t>(1, 65536 / std::max<int64_t>(1, D)),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r)
                   std::memcpy(h.data() + r * D, hidden + act[(size_t)r] * D, sizeof(float) * (size_t)D);
               });
  return h;
}

}  // namespace

// ---- softmax cross-entropy on given logits ------------------------------------------------------

void cross_entropy_forward(const float* logits, const int32_t* targets, const float* weights, float* loss, float* lse,
                           int64_t N, int64_t C, int32_t ignore_index) {
  parallel_for(N, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, C)), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const int32_t t = targets[n];
      if (t == ignore_index) {
        loss[n] = 0.0f;
        lse[n] = 0.0f;
        continue;
      }
      const double l = row_lse(logits + n * C, C);
      lse[n] = (float)l;
      loss[n] = ce_row_loss(l, logits[n * C + t], weights, n);
    }
  });
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* weights, const float* lse,
                            const float* dloss, float* dlogits, int64_t N, int64_t C, int32_t ignore_index) {
  parallel_for(N, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, C)), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      float* d = dlogits + n * C;
      const int32_t t = targets[n];
      if (t == ignore_index) {
        std::fill(d, d + C, 0.0f);
        continue;
      }
      vm::exp_shift_sum(logits + n * C, d, C, lse[n]);
      ce_grad_from_prob(d, C, 0, t, ce_row_grad_scale(t, ignore_index, weights, dloss, n));
    }
  });
}

// ---- fused projection + cross-entropy ---------------------------------------------------------------

namespace {

// One logit tile (rn rows × items v0..v0+vn) folded into the rows' log-sum-exp states of split s
// (row i's at states[i·splits + s]); a row whose target falls in the tile keeps its logit
void fold_tile(const float* t, int64_t rn, int64_t vn, int64_t v0, const int64_t* rows, const int32_t* targets,
               OnlineLseT<double>* states, int64_t splits, int64_t s, float* tlogit) {
  for (int64_t i = 0; i < rn; ++i) {
    const float* row = t + i * vn;
    const float m = vm::max_of(row, vn);
    if (m != -INFINITY) {
      const float sum = vm::exp_shift_sum(row, nullptr, vn, m);
      online_lse_push_max(states[i * splits + s], (double)m, (double)sum);
    }
    const int64_t tg = targets[rows[i]];
    if (tg >= v0 && tg < v0 + vn) tlogit[i] = row[tg - v0];
  }
}

// lse and loss of row n from its splits' states, merged in split order
void finish_row(const OnlineLseT<double>* states, int64_t splits, float tlogit, const float* weights, int64_t n,
                float* lse, float* loss) {
  OnlineLseT<double> st = online_lse_init<double>();
  for (int64_t s = 0; s < splits; ++s) st = online_lse_merge(st, states[s]);
  const double l = online_lse_value(st);
  lse[n] = (float)l;
  loss[n] = ce_row_loss(l, tlogit, weights, n);
}

}  // namespace

void proj_ce_forward(const float* hidden, const float* table, const int32_t* targets, const float* weights,
                     float* loss, float* lse, int64_t N, int64_t D, int64_t V, int32_t ignore_index) {
  std::vector<int64_t> act;
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] == ignore_index) {
      loss[n] = 0.0f;
      lse[n] = 0.0f;
    } else {
      act.push_back(n);
    }
  }
  if (act.empty()) return;
  const Plan p = make_plan((int64_t)act.size(), V);
  const std::vector<float> hact = gather_rows(hidden, act, D);
  std::vector<OnlineLseT<double>> states((size_t)(p.na * p.splits), online_lse_init<double>());
  std::vector<float> tlogit((size_t)p.na, 0.0f);

  parallel_for(p.items(), 1, [&](int64_t w0, int64_t w1) {
    std::vector<float> tile((size_t)(kRowBlock * kChunk));
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t rb = w / p.splits, s = w % p.splits;
      const int64_t r0 = rb * kRowBlock, rn = std::min(kRowBlock, p.na - r0);
      const int64_t c0 = s * p.cps, c1 = std::min(p.nchunks, c0 + p.cps);
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t v0 = c * kChunk, vn = std::min(kChunk, V - v0);
        if (vn <= 0) break;
        tile_nt(hact.data() + r0 * D, table + v0 * D, tile.data(), rn, vn, D);
        fold_tile(tile.data(), rn, vn, v0, act.data() + r0, targets, states.data() + r0 * p.splits, p.splits, s,
                  tlogit.data() + r0);
      }
    }
  });

  parallel_for(p.na, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      finish_row(states.data() + r * p.splits, p.splits, tlogit[(size_t)r], weights, act[(size_t)r], lse, loss);
  });
}

// The (row group × item split) grid of the backward: R groups of whole row blocks × S splits of
// whole item chunks, R·S >= kTasks where the sizes allow, choosing the pair whose partial
// gradients (R copies of dTable when R > 1, S copies of dHidden when S > 1) take the least memory.
// R and S depend only on (na, V), never on the thread count.
namespace {

struct Grid {
  int64_t nrb, nch, R, S;
};

Grid make_grid(int64_t na, int64_t V) {
  constexpr int64_t kTasks = 16;
  Grid g;
  g.nrb = (na + kRowBlock - 1) / kRowBlock;
  g.nch = (V + kChunk - 1) / kChunk;
  const int64_t want = std::min(kTasks, g.nrb * g.nch);
  g.R = g.nrb;
  g.S = 1;
  double best = 1e300;
  for (int64_t r = 1; r <= std::min(g.nrb, kTasks); ++r) {
    const int64_t s = std::min(g.nch, (want + r - 1) / r);
    if (r * s < want) continue;
    const double mem = (r > 1 ? (double)r * (double)V : 0.0) + (s > 1 ? (double)s * (double)na : 0.0);
    if (mem < best) {
      best = mem;
      g.R = r;
      g.S = s;
    }
  }
  return g;
}

// The partial gradients summed in a fixed order: dHidden over item splits, dTable over row groups
// (with one group, dt_part is dtable itself).
void merge_partials(const Grid& g, const std::vector<int64_t>& act, int64_t D, int64_t V, const float* dh_part,
                    const float* dt_part, float* dhidden, float* dtable) {
  const int64_t na = (int64_t)act.size();
  if (dhidden) parallel_for(na, std::max<int64_t>(1, 16384 / D), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* out = dhidden + act[(size_t)r] * D;
      std::memcpy(out, dh_part + r * D, sizeof(float) * (size_t)D);
      for (int64_t s = 1; s < g.S; ++s) {
        const float* q = dh_part + (s * na + r) * D;
        for (int64_t d = 0; d < D; ++d) out[d] += q[d];
      }
    }
  });
  if (dtable && g.R > 1) {
    parallel_for(V * D, 16384, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float acc = dt_part[i];
        for (int64_t r = 1; r < g.R; ++r) acc += dt_part[r * V * D + i];
        dtable[i] = acc;
      }
    });
  }
}

// The backward of one logit tile t (rows r0.. of the active rows × items v0..), in place: t becomes
// G = g·(softmax - onehot), then dh[rows] (+)= G · table[items] and dt[items] (+)= Gᵀ · hact[rows]
void tile_backward(float* t, int64_t r0, int64_t rn, int64_t v0, int64_t vn, int64_t D, const std::vector<int64_t>& act,
                   const int32_t* targets, const float* lse, const std::vector<float>& gscale, const float* table,
                   const float* hact, float* dh, float* dt, bool accumulate_dh, bool accumulate_dt) {
  for (int64_t i = 0; i < rn; ++i) {
    float* row = t + i * vn;
    const int64_t n = act[(size_t)(r0 + i)];
    vm::exp_shift_sum(row, row, vn, lse[n]);
    ce_grad_from_prob(row, vn, v0, targets[n], gscale[(size_t)(r0 + i)]);
  }
  if (dh) gemm_tile(t, table + v0 * D, dh + r0 * D, rn, D, vn, false, false, accumulate_dh);
  if (dt) gemm_tile(t, hact + r0 * D, dt + v0 * D, vn, D, rn, true, false, accumulate_dt);
}

}  // namespace

void proj_ce_backward(const float* hidden, const float* table, const int32_t* targets, const float* weights,
                      const float* lse, const float* dloss, float* dhidden, float* dtable, int64_t N, int64_t D,
                      int64_t V, int32_t ignore_index) {
  if (D == 0 || (dhidden == nullptr && dtable == nullptr)) return;  // nothing to write
  // rows that pass gradient: not ignored and a non-zero upstream scale
  std::vector<int64_t> act;
  std::vector<float> gscale;
  for (int64_t n = 0; n < N; ++n) {
    const float g = ce_row_grad_scale(targets[n], ignore_index, weights, dloss, n);
    if (targets[n] == ignore_index || g == 0.0f) {
      if (dhidden) std::fill(dhidden + n * D, dhidden + (n + 1) * D, 0.0f);
    } else {
      act.push_back(n);
      gscale.push_back(g);
    }
  }
  const int64_t na = (int64_t)act.size();
  if (na == 0 || V == 0) {
    if (dtable) std::fill(dtable, dtable + V * D, 0.0f);
    if (dhidden)
      for (int64_t r = 0; r < na; ++r) std::fill(dhidden + act[(size_t)r] * D, dhidden + (act[(size_t)r] + 1) * D, 0.0f);
    return;
  }
  const Grid g = make_grid(na, V);
  const std::vector<float> hact = gather_rows(hidden, act, D);
  // partial gradients: dH part s (na, D) for each item split, dT part r (V, D) for each row group;
  // with a single split (group) the part is the whole gradient, dT written in place. A gradient
  // that is not wanted (null) is neither computed nor merged.
  float* dh_part = dhidden ? thread_workspace(0, (size_t)(g.S * na * D)) : nullptr;
  float* dt_part = !dtable ? nullptr : g.R > 1 ? thread_workspace(1, (size_t)(g.R * V * D)) : dtable;

  // one pass: each logit tile becomes G = g·(softmax - onehot) in place and feeds both products
  parallel_for(g.R * g.S, 1, [&](int64_t w0, int64_t w1) {
    std::vector<float> tile((size_t)(kRowBlock * kChunk));
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t r = w / g.S, s = w % g.S;
      const int64_t rb0 = g.nrb * r / g.R, rb1 = g.nrb * (r + 1) / g.R;
      const int64_t c0 = g.nch * s / g.S, c1 = g.nch * (s + 1) / g.S;
      float* dh = dh_part ? dh_part + s * na * D : nullptr;
      float* dt = dt_part ? dt_part + (g.R > 1 ? r * V * D : 0) : nullptr;
      for (int64_t rb = rb0; rb < rb1; ++rb) {
        const int64_t r0 = rb * kRowBlock, rn = std::min(kRowBlock, na - r0);
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t v0 = c * kChunk, vn = std::min(kChunk, V - v0);
          float* t = tile.data();
          tile_nt(hact.data() + r0 * D, table + v0 * D, t, rn, vn, D);
          tile_backward(t, r0, rn, v0, vn, D, act, targets, lse, gscale, table, hact.data(), dh, dt, c > c0, rb > rb0);
        }
      }
    }
  });

  merge_partials(g, act, D, V, dh_part, dt_part, dhidden, dtable);
}

// ---- forward and backward in one pass ------------------------------------------------------------

// Exactly proj_ce_forward, then proj_ce_backward with the given dLoss, with the same bits (the
// training losses whose upstream gradient is known before the forward: ERM's mean, A-FSR's first
// pass). Each row block's logits are computed once, all V of them kept (kRowBlock × V floats per
// thread), and reused for the backward, so the pair costs 3 GEMM-sized products instead of 4. The
// arithmetic is the two kernels': the forward's tiles and its split-wise log-sum-exp states, then
// the backward's grid, its per-split dHidden and per-group dTable partials accumulated in the same
// order, merged by the same code. Where the single pass does not apply (V above kFusedMaxItems,
// fewer row groups than threads, a row whose gradient scale is 0, which the backward leaves out
// of its row blocks) the two kernels run one after the other.
constexpr int64_t kFusedMaxItems = 4096;  // 126 × 4096 floats = 2 MB of logits per thread

void proj_ce_forward_backward(const float* hidden, const float* table, const int32_t* targets, const float* weights,
                              const float* dloss, float* loss, float* lse, float* dhidden, float* dtable, int64_t N,
                              int64_t D, int64_t V, int32_t ignore_index) {
  std::vector<int64_t> act;
  std::vector<float> gscale;
  bool zero_scale = false;
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] == ignore_index) continue;
    act.push_back(n);
    gscale.push_back(ce_row_grad_scale(targets[n], ignore_index, weights, dloss, n));
    if (gscale.back() == 0.0f) zero_scale = true;
  }
  const int64_t na = (int64_t)act.size();
  const Grid g = make_grid(na, V);
  if (zero_scale || na == 0 || V == 0 || D == 0 || V > kFusedMaxItems || (dhidden == nullptr && dtable == nullptr) ||
      g.R < num_threads()) {
    proj_ce_forward(hidden, table, targets, weights, loss, lse, N, D, V, ignore_index);
    proj_ce_backward(hidden, table, targets, weights, lse, dloss, dhidden, dtable, N, D, V, ignore_index);
    return;
  }
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] != ignore_index) continue;
    loss[n] = 0.0f;
    lse[n] = 0.0f;
    if (dhidden) std::fill(dhidden + n * D, dhidden + (n + 1) * D, 0.0f);
  }
  const Plan p = make_plan(na, V);
  const std::vector<float> hact = gather_rows(hidden, act, D);
  float* dh_part = dhidden ? thread_workspace(0, (size_t)(g.S * na * D)) : nullptr;
  float* dt_part = !dtable ? nullptr : g.R > 1 ? thread_workspace(1, (size_t)(g.R * V * D)) : dtable;

  parallel_for(g.R, 1, [&](int64_t w0, int64_t w1) {
    // chunk c's (rn, vn) tile at logits + c·kRowBlock·kChunk (slot 2: slots 0 and 1 are the partials)
    float* logits = thread_workspace(2, (size_t)(g.nch * kRowBlock * kChunk));
    std::vector<OnlineLseT<double>> states((size_t)(kRowBlock * p.splits));
    std::vector<float> tlogit((size_t)kRowBlock);
    for (int64_t r = w0; r < w1; ++r) {
      const int64_t rb0 = g.nrb * r / g.R, rb1 = g.nrb * (r + 1) / g.R;
      float* dt = dt_part ? dt_part + (g.R > 1 ? r * V * D : 0) : nullptr;
      for (int64_t rb = rb0; rb < rb1; ++rb) {
        const int64_t r0 = rb * kRowBlock, rn = std::min(kRowBlock, na - r0);
        // forward: the tiles, folded into the forward's split-wise states
        std::fill(states.begin(), states.end(), online_lse_init<double>());
        std::fill(tlogit.begin(), tlogit.end(), 0.0f);
        for (int64_t c = 0; c < g.nch; ++c) {
          const int64_t v0 = c * kChunk, vn = std::min(kChunk, V - v0), s = c / p.cps;
          float* t = logits + c * kRowBlock * kChunk;
          tile_nt(hact.data() + r0 * D, table + v0 * D, t, rn, vn, D);
          fold_tile(t, rn, vn, v0, act.data() + r0, targets, states.data(), p.splits, s, tlogit.data());
        }
        for (int64_t i = 0; i < rn; ++i)
          finish_row(states.data() + i * p.splits, p.splits, tlogit[(size_t)i], weights, act[(size_t)(r0 + i)], lse, loss);
        // backward: the same tiles turned into G, split by split as the backward's grid has them
        for (int64_t s = 0; s < g.S; ++s) {
          const int64_t c0 = g.nch * s / g.S, c1 = g.nch * (s + 1) / g.S;
          float* dh = dh_part ? dh_part + s * na * D : nullptr;
          for (int64_t c = c0; c < c1; ++c) {
            const int64_t v0 = c * kChunk, vn = std::min(kChunk, V - v0);
            tile_backward(logits + c * kRowBlock * kChunk, r0, rn, v0, vn, D, act, targets, lse, gscale, table,
                          hact.data(), dh, dt, c > c0, rb > rb0);
          }
        }
      }
    }
  });
  merge_partials(g, act, D, V, dh_part, dt_part, dhidden, dtable);
}

}  // namespace seqfair
