// The per-device CUDA state ops run on: one compute stream per device (every
// op enqueues its kernels there; nothing in the default path synchronises the
// host) and one copy stream per device (the data loader's prefetch), plus
// events that order one stream after another.
#pragma once

#include "engine/device.h"
#include "kernels/stream.h"

struct CUevent_st;

namespace danlu {

// The stream every op on `device` (a CUDA device) runs its kernels on:
// non-blocking, created at first use. Also makes `device` the calling thread's
// current device, so the kernels an op launches next go to that GPU.
kernels::Stream compute_stream(Device device);

// The stream the data loader copies batches to `device` on, so that the next
// batch copies while the compute stream trains on the current one.
kernels::Stream copy_stream(Device device);

// Makes `device` current for its scope and restores the previous one after.
class CudaDeviceGuard {
 public:
  explicit CudaDeviceGuard(Device device);
  ~CudaDeviceGuard();
  CudaDeviceGuard(const CudaDeviceGuard&) = delete;
  CudaDeviceGuard& operator=(const CudaDeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

// A CUDA event, owned; without timing (the cheap kind) unless asked for.
// record() marks a point in a stream; make_wait() makes another stream wait
// for that point without blocking the host; synchronize() blocks the host
// until the point is reached.
class CudaEvent {
 public:
  explicit CudaEvent(bool timing = false);  // created on the current device
  ~CudaEvent();
  CudaEvent(CudaEvent&& other) noexcept;
  CudaEvent& operator=(CudaEvent&& other) noexcept;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  void record(kernels::Stream stream);
  void make_wait(kernels::Stream stream) const;
  void synchronize() const;
  // synchronize() only when the event has not yet completed: for reusing a
  // buffer whose copy was queued long ago, where a wait is back-pressure on a
  // host running ahead of a busy GPU, not a read-back (engine/sync_check.h).
  void synchronize_if_pending() const;

  // Milliseconds of GPU time from `start` to `end`, both recorded, completed
  // and created with timing (about 0.5 us resolution).
  friend float elapsed_ms(const CudaEvent& start, const CudaEvent& end);

 private:
  CUevent_st* event_ = nullptr;
};

// Whether float GEMMs on the GPU may use TF32 tensor cores (inputs rounded to
// a 10-bit mantissa: ~1e-3 relative error, several times the speed). Off by
// default, as in PyTorch; affects GEMMs enqueued after the call.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace danlu
