// A block of GPU memory reserved in one piece and handed out in parts: what a
// CUDA Graph's captured work allocates from (engine/cuda_graph.h), since no
// CUDA allocation call may run while a stream is being captured. First fit
// over the free ranges, in 256-byte units as cudaMalloc aligns; a released
// part joins its free neighbours, so the same sequence of allocations and
// frees reuses memory as the stream-ordered pool would.
#pragma once

#include <cstddef>
#include <map>

#include "engine/device.h"

namespace danlu {

class DeviceArena {
 public:
  // Reserves `bytes` on `device` from the stream-ordered pool.
  DeviceArena(Device device, size_t bytes);
  // Gives the block back on the compute stream, after the work queued so far.
  ~DeviceArena();
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;

  // `bytes` of the block, or null when no free range is large enough.
  void* allocate(size_t bytes);
  // Returns a part that allocate() gave.
  void release(void* part);

  size_t capacity() const { return capacity_; }
  size_t in_use() const { return in_use_; }
  size_t peak() const { return peak_; }

 private:
  Device device_;
  char* base_ = nullptr;
  size_t capacity_ = 0;
  size_t in_use_ = 0, peak_ = 0;
  std::map<size_t, size_t> free_;  // offset -> bytes, no two adjacent
  std::map<size_t, size_t> used_;  // offset -> bytes
};

}  // namespace danlu
