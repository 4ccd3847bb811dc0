// How the process's C heap treats freed memory (glibc only). See memory_policy.cc for why.
#pragma once

namespace seqfair {

// Applied once when the addon loads; returns what is in force: "kept" (freed blocks stay in the
// heap for reuse), "default" (SEQFAIR_MALLOC=default: glibc's own policy) or "not glibc".
const char* apply_memory_policy();
const char* memory_policy();

}  // namespace seqfair
