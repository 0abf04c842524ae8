// The second pass of a backward-weight whose reduction over N*OH*OW was split
// across blocks (rungs 3 and 4): the per-split partial sums of dweight added
// in a fixed order, so the bits repeat without float atomics.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels::cuda {

// dweight[e] = the sum over s < splits of partial[s * count + e], for e < count.
void sum_splits(const float* partial, float* dweight, int64_t count, int splits, Stream stream);

}  // namespace danlu::kernels::cuda
