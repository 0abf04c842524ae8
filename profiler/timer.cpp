// KernelTimer on the engine's compute stream and timing events.
#include "profiler/timer.h"

#include <algorithm>

#include "engine/cuda_context.h"
#include "engine/error.h"
#include "engine/tensor.h"
#ifdef DANLU_WITH_CUDA
#include "kernels/cuda/check.h"
#endif

namespace danlu::profiler {

Timing summarize(std::vector<double> ms) {
  DANLU_CHECK(!ms.empty(), "profile: no timings to summarize");
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return {n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2, ms.front()};
}

struct KernelTimer::Impl {
  Device device;
  int warmup = 0, iters = 0;
  Tensor flush;  // written before each timed launch: twice the L2 cache
};

KernelTimer::KernelTimer(Device device, int warmup, int iters)
    : impl_(std::make_unique<Impl>()) {
  DANLU_CHECK(iters >= 1 && warmup >= 0, "profile: need iters >= 1 and warm-up >= 0, got ",
              iters, " and ", warmup);
  impl_->device = device;
  impl_->warmup = warmup;
  impl_->iters = iters;
#ifdef DANLU_WITH_CUDA
  int l2_bytes = 0;
  DANLU_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device.index));
  impl_->flush = Tensor::empty({std::max<int64_t>(2 * int64_t(l2_bytes) / 4, 1)},
                               TensorOptions(DType::f32).device(device));
#else
  DANLU_FAIL("profile: this build of danlu has no CUDA backend");
#endif
}

KernelTimer::~KernelTimer() = default;

Timing KernelTimer::time(const std::function<void()>& launch) {
#ifdef DANLU_WITH_CUDA
  const kernels::Stream stream = compute_stream(impl_->device);
  for (int i = 0; i < impl_->warmup; ++i) launch();
  std::vector<CudaEvent> starts, stops;
  for (int i = 0; i < impl_->iters; ++i) {
    starts.emplace_back(true);
    stops.emplace_back(true);
  }
  const Tensor& flush = impl_->flush;
  for (int i = 0; i < impl_->iters; ++i) {
    DANLU_CUDA_CHECK(cudaMemsetAsync(flush.raw_data(), i & 0xff, flush.numel() * 4, stream));
    starts[i].record(stream);
    launch();
    stops[i].record(stream);
  }
  stops.back().synchronize();
  std::vector<double> ms;
  for (int i = 0; i < impl_->iters; ++i) ms.push_back(elapsed_ms(starts[i], stops[i]));
  return summarize(ms);
#else
  (void)launch;
  DANLU_FAIL("profile: this build of danlu has no CUDA backend");
#endif
}

}  // namespace danlu::profiler
