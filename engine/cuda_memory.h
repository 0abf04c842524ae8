// GPU memory: allocations from CUDA's stream-ordered allocator (the device's
// default memory pool, on the compute stream) and the pool's usage counters.
// The pool keeps freed memory for reuse (its release threshold is raised to
// the maximum once per device), so danlu has no caching allocator of its own.
// Peak bytes in use is what "batch size vs. memory" is read from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/device.h"

namespace danlu {

struct CudaMemoryStats {
  uint64_t in_use = 0;  // bytes handed out and not yet freed (in stream order)
  uint64_t peak = 0;    // the most in_use has been since the last reset
};

// "123456789 bytes (0.11 GiB)": the form of every out-of-memory message.
std::string format_bytes(uint64_t bytes);

// Throws danlu::Error with the reason when `device` is not a usable CUDA device.
void require_cuda_device(Device device, const char* what);

CudaMemoryStats cuda_memory_stats(Device device);
// Restarts `peak` from the current in_use.
void reset_peak_memory(Device device);

// `bytes` of device memory, usable by work enqueued on compute_stream(device)
// from now on. Out of memory throws danlu::OutOfMemory naming the request
// and the bytes in use; the training loop adds what the model takes.
void* cuda_allocate(size_t bytes, Device device);
// Returns `data` to the pool once the work already enqueued on the compute
// stream is done. Never throws (it runs in destructors, also at exit).
void cuda_free(void* data, Device device) noexcept;

}  // namespace danlu
