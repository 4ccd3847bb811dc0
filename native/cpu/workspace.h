// Per-thread scratch buffers that persist across kernel calls: the big temporaries of the fused
// kernels (GRU gate gradients, cross-entropy partial gradients) are reused instead of being
// allocated, zeroed and page-faulted in on every call. Contents are undefined on return; a buffer
// only grows. The calling thread owns it (pool threads may read and write it inside the call).
#pragma once
#include <cstddef>
#include <vector>

namespace seqfair {

// buffer `slot` (0..7) of the calling thread, at least n floats
inline float* thread_workspace(int slot, size_t n) {
  thread_local std::vector<float> bufs[8];
  std::vector<float>& b = bufs[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

}  // namespace seqfair
