// CUDA activations against the CPU reference: every activation, forward and
// backward, on sizes that are and are not multiples of 4, through 16-byte
// aligned pointers (the float4 path and its scalar tail) and through pointers
// one float off (the scalar path), on moderate and large inputs.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/activation.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using kernels::Activation;
using testing::DeviceBuffer;
using testing::expect_close_floats;
using testing::uniform_floats;

struct ActivationCase {
  Activation act;
  float alpha;  // leaky_relu's slope, elu's alpha
  const char* name;
};

const ActivationCase kActivations[] = {
    {Activation::relu, 0.0f, "relu"},       {Activation::leaky_relu, 0.01f, "leaky_relu"},
    {Activation::elu, 1.3f, "elu"},         {Activation::gelu, 0.0f, "gelu"},
    {Activation::gelu_tanh, 0.0f, "gelu_tanh"}, {Activation::silu, 0.0f, "silu"},
    {Activation::sigmoid, 0.0f, "sigmoid"}, {Activation::tanh, 0.0f, "tanh"}};

// 1 and 3 are all tail, 4 and 1024 all float4s, the rest both.
const int64_t kSizes[] = {1, 3, 4, 33, 1024, 1025, 65539};

kernels::Stream stream() { return compute_stream(Device::cuda()); }

// The CPU and the GPU evaluate the same float formulas; they differ only in
// their expf/erff/tanhf/expm1f (each within 2 ulp) and in fused multiply-adds,
// a few ulp of the result: rtol 1e-5. Where a formula cancels (1 - tanh^2,
// x near 0 in gelu) the error is a few ulp of the terms (of size <= 1 for
// dy <= 1) rather than of the result: atol 1e-6.
constexpr double kAtol = 1e-6, kRtol = 1e-5;

// Runs `c` forward and backward on n inputs in [lo, hi), placed `offset`
// floats into their device buffers, and compares both with the CPU.
void check_against_cpu(const ActivationCase& c, int64_t n, int offset, float lo, float hi) {
  const std::string what = std::string(c.name) + " n=" + std::to_string(n) +
                           " offset=" + std::to_string(offset);
  const std::vector<float> x = uniform_floats(n, 7 + n, lo, hi);
  const std::vector<float> dy = uniform_floats(n, 8 + n, -1.0f, 1.0f);
  std::vector<float> y_ref(n), dx_ref(n);
  kernels::cpu::activation_forward(c.act, x.data(), y_ref.data(), n, c.alpha);
  const std::vector<float>& saved = kernels::backward_uses_output(c.act) ? y_ref : x;
  kernels::cpu::activation_backward(c.act, saved.data(), dy.data(), dx_ref.data(), n, c.alpha);

  // Each buffer holds `offset` padding floats, then the data.
  auto padded = [offset](const std::vector<float>& v) {
    std::vector<float> p(offset, 0.0f);
    p.insert(p.end(), v.begin(), v.end());
    return p;
  };
  DeviceBuffer<float> d_x(padded(x)), d_saved(padded(saved)), d_dy(padded(dy));
  DeviceBuffer<float> d_y(n + offset), d_dx(n + offset);
  kernels::cuda::activation_forward(c.act, d_x.get() + offset, d_y.get() + offset, n, c.alpha,
                                    stream());
  kernels::cuda::activation_backward(c.act, d_saved.get() + offset, d_dy.get() + offset,
                                     d_dx.get() + offset, n, c.alpha, stream());
  const std::vector<float> y = d_y.to_host(), dx = d_dx.to_host();
  expect_close_floats({y.begin() + offset, y.end()}, y_ref, kAtol, kRtol, what + " forward");
  expect_close_floats({dx.begin() + offset, dx.end()}, dx_ref, kAtol, kRtol, what + " backward");
}

TEST(GpuActivation, AlignedAndUnalignedMatchCpu) {
  DANLU_REQUIRE_GPU();
  for (const ActivationCase& c : kActivations)
    for (int64_t n : kSizes)
      for (int offset : {0, 1}) check_against_cpu(c, n, offset, -6.0f, 6.0f);
}

// Saturated regions: exp overflowing to inf in sigmoid(-x), tanh at +-1,
// gelu's erf at +-1, elu at -alpha.
TEST(GpuActivation, LargeInputsMatchCpu) {
  DANLU_REQUIRE_GPU();
  for (const ActivationCase& c : kActivations)
    for (int offset : {0, 1}) check_against_cpu(c, 4099, offset, -100.0f, 100.0f);
}

TEST(GpuActivation, RepeatedRunsAreBitIdentical) {
  DANLU_REQUIRE_GPU();
  const int64_t n = 65539;
  DeviceBuffer<float> d_x(uniform_floats(n, 11, -6.0f, 6.0f)), d_y(n);
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    kernels::cuda::activation_forward(Activation::gelu, d_x.get(), d_y.get(), n, 0.0f, stream());
    if (run == 0) first = d_y.to_host();
  }
  EXPECT_TRUE(testing::bitwise_equal(first, d_y.to_host()));
}

// The activation ops on GPU tensors through autograd, against the CPU; the
// backward reads y or x as the op saved it.
TEST(GpuActivationOp, ForwardBackwardMatchCpu) {
  DANLU_REQUIRE_GPU();
  const Device gpu = Device::cuda();
  const Tensor x = Tensor::from_vector(uniform_floats(3 * 5 * 7, 58, -4.0f, 4.0f), {3, 5, 7});
  const Tensor gy = Tensor::from_vector(uniform_floats(x.numel(), 59, -1.0f, 1.0f), x.shape());
  const std::pair<const char*, Tensor (*)(const Tensor&)> ops[] = {
      {"relu", relu}, {"silu", silu}, {"sigmoid", sigmoid}, {"tanh", tanh}};
  for (const auto& [name, op] : ops) {
    Tensor xc = x.clone().set_requires_grad(), xg = x.to(gpu).set_requires_grad();
    Tensor y = op(xc), yg = op(xg);
    y.backward(gy);
    yg.backward(gy.to(gpu));
    testing::expect_close(yg.to(Device::cpu()), y, kAtol, kRtol, std::string(name) + " y");
    testing::expect_close(xg.grad().to(Device::cpu()), xc.grad(), kAtol, kRtol,
                          std::string(name) + " dx");
  }
  Tensor xc = x.clone().set_requires_grad(), xg = x.to(gpu).set_requires_grad();
  Tensor y = gelu(xc, GeluApproximate::tanh), yg = gelu(xg, GeluApproximate::tanh);
  y.backward(gy);
  yg.backward(gy.to(gpu));
  testing::expect_close(yg.to(Device::cpu()), y, kAtol, kRtol, "gelu tanh y");
  testing::expect_close(xg.grad().to(Device::cpu()), xc.grad(), kAtol, kRtol, "gelu tanh dx");
}

}  // namespace
}  // namespace danlu
