// The implicit GEMMs' backward-weight reduction over N*OH*OW (rungs 3, 4
// and 5): how its depth is cut across blocks, and the second pass that adds
// the slices' partial sums in a fixed order, so the bits repeat without
// float atomics.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels::cuda {

// The length of each depth slice (a multiple of `step`) for a GEMM of
// `tiles` output tiles per group, so that the grid fills a large GPU.
int64_t weight_grad_slice(int64_t depth, int64_t tiles, int64_t groups, int64_t step);

// dweight[e] = the sum over s < splits of partial[s * count + e], for
// e < count, added in an order that depends on `splits` alone.
void sum_weight_splits(const float* partial, float* dweight, int64_t count, int splits,
                       Stream stream);

}  // namespace danlu::kernels::cuda
