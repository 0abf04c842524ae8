// The kernels the profiler times for one workload, on device buffers the
// bench owns: danlu's own kernel and, where one is wired, the vendor
// library's kernel for the same contract (cuDNN for conv and batch norm).
// Called directly, not through autograd, so only the kernels are timed.
// Only in CUDA builds.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/device.h"
#include "engine/tensor.h"
#include "kernels/conv.h"
#include "profiler/workload.h"

namespace danlu::profiler {

struct Launchers {
  std::function<void()> ours;
  std::function<void()> vendor;  // empty where no vendor kernel is wired
  std::string vendor_name;
};

class Bench {
 public:
  virtual ~Bench() = default;
  // Enqueues nothing; the launchers do, on the device's compute stream.
  virtual Launchers launchers(Direction d) = 0;
};

std::unique_ptr<Bench> make_bench(const Workload& w, Device device);
// The cuDNN-backed ones (benches_cudnn.cpp). A conv bench runs the variant
// `settings` choose per pass (kernels/conv.h) and cuDNN in the same math mode.
std::unique_ptr<Bench> make_conv_bench(const ConvWork& w, Device device,
                                       const kernels::cuda::ConvSettings& settings = {});
std::unique_ptr<Bench> make_batchnorm_bench(const BatchNormWork& w, Device device);

// Whether this build has the vendor kernels of conv and bn (cuDNN found at
// configure time and kernels not emulated).
bool built_with_cudnn();

// f32 on `device`, uniform in [0, 1): inputs of every bench.
Tensor device_rand(const Shape& shape, Device device);
Tensor device_empty(const Shape& shape, Device device, DType dtype = DType::f32);

}  // namespace danlu::profiler
