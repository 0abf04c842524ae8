// Double buffering of batches onto a GPU: while the compute stream trains on
// batch b, batch b + 1 is copied from pinned host memory on the device's copy
// stream. An event per buffer makes the compute stream wait for a batch's
// copy only when the training loop takes that batch.
#pragma once

#include <array>
#include <cstddef>

#include "engine/device.h"
#include "engine/tensor.h"

namespace danlu::io {

struct Batch;

class DevicePrefetcher {
 public:
  explicit DevicePrefetcher(Device device);
  // Keeps the memory of untaken batches alive until their copies finish.
  ~DevicePrefetcher();
  DevicePrefetcher(const DevicePrefetcher&) = delete;
  DevicePrefetcher& operator=(const DevicePrefetcher&) = delete;

  // Stages `host` into pinned memory and enqueues its copy; returns without
  // waiting for the GPU. At most two batches may be started and not taken.
  void start(const Batch& host);
  // Whether a started batch waits to be taken.
  bool pending() const { return started_ != taken_; }
  // The oldest started batch; work enqueued on the compute stream from now
  // on sees its data.
  Batch take();

 private:
  struct Buffer;
  Device device_;
  std::array<Buffer*, 2> buffers_{};
  size_t started_ = 0, taken_ = 0;  // batches started and taken so far
};

}  // namespace danlu::io
