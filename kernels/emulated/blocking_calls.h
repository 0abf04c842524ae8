// The emulated runtime's count of calls that block the host until the device
// has caught up: cudaDeviceSynchronize, cudaStreamSynchronize,
// cudaEventSynchronize, and the synchronous cudaMemcpy, cudaMemset, cudaMalloc,
// cudaFree, cudaMallocHost, cudaHostAlloc and cudaFreeHost, as a GPU's runtime
// blocks on them. The asynchronous calls (cudaMemcpyAsync, cudaMallocAsync, ...)
// are not counted. engine/sync_check.h reads it in the emulated build.
#pragma once

#include <cstdint>

namespace danlu::emu {

int64_t blocking_calls();

}  // namespace danlu::emu
