// Copies between any two devices: the data movement behind Tensor::to,
// copy_ and clone. Host <-> GPU copies go through pinned staging buffers
// (cudaMallocHost), so the copy engine reads and writes page-locked memory
// and a host-to-GPU copy returns before the GPU has finished it.
#pragma once

#include <cstddef>

#include "engine/device.h"

namespace danlu {

// Copies `bytes` from `src` on `src_device` to `dst` on `dst_device`. GPU work
// is ordered on the devices' compute streams: a copy from a GPU waits for the
// kernels that produce its source; a copy to a GPU is seen by every kernel
// enqueued after it returns. A copy to the host returns once the data is there.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace danlu
