// Top-k selection by (value descending, index ascending), shared by the CPU and CUDA kernels of
// the cosine neighbour search (FORMAT.md 4.10, A-FSR Eq. 6).
//
//   a list of capacity k holds (vals[m], ids[m]), m < count, sorted best first, where
//   (a, ia) is better than (b, ib)  iff  a > b, or a == b and ia < ib
// This is a strict total order on distinct ids, so the k best of any set do not depend on the
// order in which candidates are offered, and lists built over disjoint candidate ranges merge
// exactly (topk_insert of every entry of one list into the other). A NaN value is never better
// than anything, so it only fills a list that is not yet full.
#pragma once
#include <cstdint>

#include "seqfair/hd.h"

namespace seqfair {

SEQFAIR_HD bool topk_better(float a, int32_t ia, float b, int32_t ib) { return a > b || (a == b && ia < ib); }

// Offers (v, id); returns false when it does not enter the list (then no candidate that is worse
// than (v, id) would enter either).
SEQFAIR_HD bool topk_insert(float* vals, int32_t* ids, int32_t* count, int32_t k, float v, int32_t id) {
  int32_t m = *count;
  if (m == k) {
    if (k == 0 || !topk_better(v, id, vals[k - 1], ids[k - 1])) return false;
    m = k - 1;  // the last entry falls off
  } else {
    *count = m + 1;
  }
  while (m > 0 && topk_better(v, id, vals[m - 1], ids[m - 1])) {
    vals[m] = vals[m - 1];
    ids[m] = ids[m - 1];
    --m;
  }
  vals[m] = v;
  ids[m] = id;
  return true;
}

// Sorted ascending set of the values in buf[0..n) without `exclude`, in place; returns its size.
// Heapsort: O(n log n) for the n = k + k² entries of a two-hop row, no extra memory, no recursion.
SEQFAIR_HD void heap_sift_down(int32_t* a, int32_t root, int32_t n) {
  for (;;) {
    int32_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && a[child + 1] > a[child]) ++child;
    if (a[root] >= a[child]) return;
    const int32_t t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

SEQFAIR_HD int32_t sorted_unique_without(int32_t* buf, int32_t n, int32_t exclude) {
  for (int32_t r = n / 2 - 1; r >= 0; --r) heap_sift_down(buf, r, n);
  for (int32_t end = n - 1; end > 0; --end) {
    const int32_t t = buf[0];
    buf[0] = buf[end];
    buf[end] = t;
    heap_sift_down(buf, 0, end);
  }
  int32_t m = 0;
  for (int32_t a = 0; a < n; ++a) {
    if (buf[a] == exclude) continue;
    if (m > 0 && buf[m - 1] == buf[a]) continue;
    buf[m++] = buf[a];
  }
  return m;
}

}  // namespace seqfair
