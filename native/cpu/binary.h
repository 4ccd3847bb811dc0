// Element-wise binary ops with broadcasting (math and loop layout: seqfair/binary.h) on raw
// pointers; the N-API layer (bind_core.cc) has checked the loop against every array's length.
#pragma once
#include <cstdint>

#include "seqfair/binary.h"

namespace seqfair {

// y (Π dims) = a op b over the broadcast loop l; multithreaded over rows of the last axis
void binary_broadcast(int32_t op, const float* a, const float* b, float* y, const BroadcastLoop& l);

}  // namespace seqfair
