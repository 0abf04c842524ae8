// The host side of last_block.cuh: the counters at which a launch's blocks
// meet, zero whenever a launch that uses them starts.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels::cuda {

// How many counters a device starts with (more than any layer's channels in
// the shipped networks); a CUDA Graph capture makes sure of them before it
// begins, since allocating them inside one is not allowed.
constexpr int64_t kArrivalCountersAtStart = 4096;

// `count` counters on the current device, zero for the next launch
// enqueued on `stream`, which must leave every counter it uses at zero.
// Kept for the life of the process and grown when asked for more (which
// refuses a CUDA Graph capture: the work must first run once outside one).
// One stream per device may use them: the device's compute stream.
unsigned* arrival_counters(int64_t count, Stream stream);

}  // namespace danlu::kernels::cuda
