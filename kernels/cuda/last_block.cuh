// Launches whose blocks reduce in groups (a channel's strips) and whose last
// block to finish a group also does the group's final step, so a reduction
// over many blocks is one launch, not a partial launch and a finalize launch.
//
// Each group meets at one counter of arrival_counters(): zero when the
// launch starts, because the group's last block sets it back to zero.
// The block that arrives last reads what the group's other blocks wrote
// during the launch, so it reads them volatile, after a fence.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/arrival_counters.h"

namespace danlu::kernels::cuda {

// Called by every thread of a block once it has stored its part of the
// group's work: thread 0 makes the block's stores visible (__threadfence)
// and counts the block in on the group's counter; the block that counts
// `blocks` (the group's size) is the last, resets the counter and returns
// true in all its threads, every other block false. `last` is the calling
// kernel's __shared__ flag.
__device__ inline bool arrived_last(unsigned* counter, unsigned blocks, bool* last) {
  if (threadIdx.x == 0) {
    __threadfence();
    *last = atomicAdd(counter, 1u) == blocks - 1;
    if (*last) *counter = 0;
  }
  __syncthreads();
  if (!*last) return false;  // uniform: every thread read *last after the barrier
  __threadfence();
  return true;
}

}  // namespace danlu::kernels::cuda
