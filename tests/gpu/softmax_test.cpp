// CUDA softmax and log-softmax against the CPU reference: rows along the last
// axis short enough for a warp (1, 7, 33, 1000) and long enough for a block
// (1025, 5000), a batch of 1 and of 4096, rows along a middle axis (strided),
// logits of +-80, and repeated runs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/softmax.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using testing::DeviceBuffer;
using testing::expect_close_floats;
using testing::uniform_floats;

struct SoftmaxShape {
  int64_t outer, dim, inner;
};

const SoftmaxShape kShapes[] = {
    {1, 1, 1},    {1, 7, 1},    {5, 33, 1},  {7, 1000, 1}, {3, 1025, 1},  {2, 5000, 1},
    {4096, 10, 1}, {2, 7, 3},   {3, 33, 17}, {1, 1025, 2}, {64, 10, 33},
};

kernels::Stream stream() { return compute_stream(Device::cuda()); }

std::string describe(const SoftmaxShape& s, bool log) {
  return std::string(log ? "log_softmax" : "softmax") + " (" + std::to_string(s.outer) + ", " +
         std::to_string(s.dim) + ", " + std::to_string(s.inner) + ")";
}

// Forward. Both sides subtract the row max in float and exponentiate the same
// differences; they differ by expf against exp (2 ulp) and by summing in
// float against double (relative 1e-6 for 5000 terms): rtol 1e-5 on a
// probability. log_softmax values reach -160; near 0 (the max entry) the
// error is that of log(sum), a few ulp of 1: atol 1e-6.
// Backward, from the same y and dy: one sum per row in float against double,
// then the same elementwise formula: rtol 1e-5, atol 1e-6 (|dy| <= 1).
constexpr double kAtol = 1e-6, kRtol = 1e-5;

void check_against_cpu(const SoftmaxShape& s, bool log, float range) {
  const std::string what = describe(s, log) + " range " + std::to_string(range);
  const int64_t n = s.outer * s.dim * s.inner;
  const std::vector<float> x = uniform_floats(n, 3 + n, -range, range);
  const std::vector<float> dy = uniform_floats(n, 4 + n, -1.0f, 1.0f);
  std::vector<float> y_ref(n), dx_ref(n);
  kernels::cpu::softmax_forward(x.data(), y_ref.data(), s.outer, s.dim, s.inner, log);
  kernels::cpu::softmax_backward(y_ref.data(), dy.data(), dx_ref.data(), s.outer, s.dim,
                                 s.inner, log);

  DeviceBuffer<float> d_x(x), d_y(n), d_y_ref(y_ref), d_dy(dy), d_dx(n);
  kernels::cuda::softmax_forward(d_x.get(), d_y.get(), s.outer, s.dim, s.inner, log, stream());
  kernels::cuda::softmax_backward(d_y_ref.get(), d_dy.get(), d_dx.get(), s.outer, s.dim, s.inner,
                                  log, stream());
  expect_close_floats(d_y.to_host(), y_ref, kAtol, kRtol, what + " forward");
  expect_close_floats(d_dx.to_host(), dx_ref, kAtol, kRtol, what + " backward");
}

TEST(GpuSoftmax, MatchesCpu) {
  DANLU_REQUIRE_GPU();
  for (const SoftmaxShape& s : kShapes)
    for (bool log : {false, true}) check_against_cpu(s, log, 4.0f);
}

// exp(+-80 - max) over- and underflows unless the max is subtracted first.
TEST(GpuSoftmax, LargeLogitsMatchCpu) {
  DANLU_REQUIRE_GPU();
  for (const SoftmaxShape& s : kShapes)
    for (bool log : {false, true}) check_against_cpu(s, log, 80.0f);
}

TEST(GpuSoftmax, RepeatedRunsAreBitIdentical) {
  DANLU_REQUIRE_GPU();
  for (const SoftmaxShape& s : {SoftmaxShape{9, 5000, 1}, SoftmaxShape{16, 1000, 1}}) {
    const int64_t n = s.outer * s.dim;
    DeviceBuffer<float> d_x(uniform_floats(n, 5, -8.0f, 8.0f)), d_y(n);
    DeviceBuffer<float> d_dy(uniform_floats(n, 6, -1.0f, 1.0f)), d_dx(n);
    std::vector<float> y_first, dx_first;
    for (int run = 0; run < 2; ++run) {
      kernels::cuda::softmax_forward(d_x.get(), d_y.get(), s.outer, s.dim, 1, false, stream());
      kernels::cuda::softmax_backward(d_y.get(), d_dy.get(), d_dx.get(), s.outer, s.dim, 1,
                                      false, stream());
      if (run == 0) y_first = d_y.to_host(), dx_first = d_dx.to_host();
    }
    EXPECT_TRUE(testing::bitwise_equal(y_first, d_y.to_host())) << describe(s, false);
    EXPECT_TRUE(testing::bitwise_equal(dx_first, d_dx.to_host())) << describe(s, false);
  }
}

// softmax and log_softmax on GPU tensors through autograd, along the last
// axis and a middle one, against the CPU with the kernel tests' bounds.
TEST(GpuSoftmaxOp, ForwardBackwardMatchCpu) {
  DANLU_REQUIRE_GPU();
  const Device gpu = Device::cuda();
  Generator gen(56);
  const Tensor x = Tensor::randn({5, 33, 7}, {}, &gen);
  const Tensor gy = Tensor::from_vector(uniform_floats(x.numel(), 57, -1.0f, 1.0f), x.shape());
  for (int64_t dim : {-1, 1}) {
    for (bool log : {false, true}) {
      const auto op = log ? log_softmax : softmax;
      const std::string what = std::string(log ? "log_softmax" : "softmax") + " dim " +
                               std::to_string(dim);
      Tensor xc = x.clone().set_requires_grad(), xg = x.to(gpu).set_requires_grad();
      Tensor y = op(xc, dim), yg = op(xg, dim);
      y.backward(gy);
      yg.backward(gy.to(gpu));
      testing::expect_close(yg.to(Device::cpu()), y, kAtol, kRtol, what + " y");
      testing::expect_close(xg.grad().to(Device::cpu()), xc.grad(), kAtol, kRtol, what + " dx");
    }
  }
}

}  // namespace
}  // namespace danlu
