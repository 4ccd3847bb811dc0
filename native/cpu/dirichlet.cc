// CPU driver of the Dirichlet rows (math: seqfair/dirichlet.h). Rows are independent and every
// draw is addressed by its own Philox counter, so any split over threads gives the reference's
// numbers bit for bit.
#include "cpu/dirichlet.h"

#include <algorithm>
#include <vector>

#include "cpu/parallel.h"
#include "seqfair/dirichlet.h"

namespace seqfair {

void dirichlet_rows(const int32_t* counts, float* out, int64_t rows, int64_t K, double alpha, const RngKey& key) {
  parallel_for(rows, std::max<int64_t>(1, 2048 / std::max<int64_t>(1, K)), [&](int64_t r0, int64_t r1) {
    std::vector<double> scratch((size_t)K);
    for (int64_t r = r0; r < r1; ++r) dirichlet_row(key, r, K, counts[r], alpha, out + r * K, scratch.data());
  });
}

}  // namespace seqfair
