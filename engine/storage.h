// Storage: one owned, aligned allocation on one device, shared by every
// Tensor handle (and view) that points into it.
#pragma once

#include <cstddef>
#include <memory>

#include "engine/device.h"

namespace danlu {

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
  Storage(void* data, size_t bytes, Device device) : data_(data), bytes_(bytes), device_(device) {}
  void* data_;
  size_t bytes_;
  Device device_;
};

}  // namespace danlu
