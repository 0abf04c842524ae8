// Storage: one owned, aligned allocation on one device, shared by every
// Tensor handle (and view) that points into it. Memory allocated while a
// CUDA Graph is being captured is a part of the capture's arena
// (engine/cuda_graph.h), which the storage keeps alive.
#pragma once

#include <cstddef>
#include <memory>

#include "engine/device.h"

namespace danlu {

class DeviceArena;

class Storage {
 public:
  // Allocates `bytes` (uninitialised) on `device`.
  static std::shared_ptr<Storage> allocate(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Storage(void* data, size_t bytes, Device device, std::shared_ptr<DeviceArena> arena = nullptr)
      : data_(data), bytes_(bytes), device_(device), arena_(std::move(arena)) {}
  void* data_;
  size_t bytes_;
  Device device_;
  std::shared_ptr<DeviceArena> arena_;  // set when data_ is a part of it
};

}  // namespace danlu
