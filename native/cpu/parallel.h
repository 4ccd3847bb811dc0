// A small persistent thread pool. parallel_for splits [0, n) into contiguous chunks of at least
// `grain` items and runs them on the pool plus the calling thread. Work must be independent per
// index; kernels that reduce do so per chunk into buffers indexed by the chunk, never by thread,
// so results do not depend on the thread count.
#pragma once
#include <cstdint>
#include <functional>

namespace seqfair {

// Number of threads used (pool workers + caller). Set once from SEQFAIR_THREADS or the core count;
// set_num_threads may change it between kernel calls.
int num_threads();
void set_num_threads(int n);

// fn(begin, end) is called on disjoint ranges covering [0, n).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace seqfair
