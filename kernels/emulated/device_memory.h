// The emulated device's memory: the host's physical memory unless set
// smaller, so that a test can make the CUDA pool run out at a chosen size,
// as a smaller GPU would (cudaMalloc fails past it, and cudaGetDeviceProperties
// and cudaMemGetInfo report it). And which addresses are device memory.
#pragma once

#include <cstddef>

namespace danlu::emu {

// Caps the emulated device's memory at `bytes`; 0 restores the host's
// physical memory.
void set_device_memory(size_t bytes);

// True when [p, p + bytes) lies inside one live cudaMalloc/cudaMallocAsync
// allocation.
bool in_device_allocation(const void* p, size_t bytes);

}  // namespace danlu::emu
