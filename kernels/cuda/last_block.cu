// The arrival counters of last_block.cuh: one zeroed buffer per device,
// allocated on first use and grown (by doubling) when a launch needs more.
// A grown-out buffer may still be in use by queued launches, so it is kept
// rather than freed (freeing would wait for the device).
#include <cuda_runtime.h>

#include <array>
#include <mutex>
#include <vector>

#include "engine/cuda_graph.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/arrival_counters.h"

namespace danlu::kernels::cuda {

namespace {

constexpr int kMaxDevices = 64;

struct Counters {
  unsigned* data = nullptr;
  int64_t count = 0;
  std::vector<unsigned*> retired;
};

}  // namespace

unsigned* arrival_counters(int64_t count, Stream stream) {
  static std::mutex mutex;
  static std::array<Counters, kMaxDevices> devices{};
  int device = 0;
  DANLU_CUDA_CHECK(cudaGetDevice(&device));
  DANLU_CHECK(device < kMaxDevices, "arrival counters: device ", device, " is beyond the ",
              kMaxDevices, " devices danlu supports");
  std::lock_guard lock(mutex);
  Counters& c = devices[device];
  if (count <= c.count) return c.data;
  refuse_capture(Device::cuda(device),
                 "a reduction needs more arrival counters than earlier steps did");
  int64_t grown = c.count ? c.count : kArrivalCountersAtStart;
  while (grown < count) grown *= 2;
  void* memory = nullptr;
  DANLU_CUDA_CHECK(cudaMalloc(&memory, sizeof(unsigned) * grown));
  auto* data = static_cast<unsigned*>(memory);
  DANLU_CUDA_CHECK(cudaMemsetAsync(data, 0, sizeof(unsigned) * grown, stream));
  if (c.data) c.retired.push_back(c.data);
  c.data = data;
  c.count = grown;
  return data;
}

}  // namespace danlu::kernels::cuda
