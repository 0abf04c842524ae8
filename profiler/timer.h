// Kernel timing with CUDA events: warm-up launches, then each timed launch
// between its own pair of events, with the L2 cache flushed before each so
// that no launch finds the previous one's data in cache (and the flush keeps
// the GPU busy while the host enqueues, so launch latency is not timed).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "engine/device.h"
#include "profiler/report.h"

namespace danlu::profiler {

// The median and the minimum of `ms` (not empty).
Timing summarize(std::vector<double> ms);

class KernelTimer {
 public:
  // On `device`'s compute stream; needs a CUDA build and a usable device.
  KernelTimer(Device device, int warmup, int iters);
  ~KernelTimer();
  KernelTimer(const KernelTimer&) = delete;
  KernelTimer& operator=(const KernelTimer&) = delete;

  // `launch` enqueues the work once on the compute stream.
  Timing time(const std::function<void()>& launch);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace danlu::profiler
