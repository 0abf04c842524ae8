// CUDA dropout against the CPU reference. Both draw element i's uniform from
// the same Philox word and compare it with the same float p, then make one
// float multiply, so mask and values must agree bit for bit: for sizes that
// are and are not multiples of 4 (a Philox block feeds four elements),
// aligned and unaligned pointers, several (seed, offset) pairs and p from 0.1
// to 1; then the op on CUDA tensors, backward included.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "danlu.h"
#include "kernels/dropout.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using testing::bitwise_equal;
using testing::DeviceBuffer;
using testing::padded;
using testing::tail;
using testing::uniform_floats;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

const int64_t kSizes[] = {1, 3, 4, 5, 1023, 65537};

TEST(GpuDropout, MaskAndValuesMatchCpuBitForBit) {
  DANLU_REQUIRE_GPU();
  struct Stream_ {
    uint64_t seed, offset;
  };
  for (const Stream_ s : {Stream_{0, 0}, Stream_{1234, 7}, Stream_{~0ull, 1ull << 40}})
    for (float p : {0.1f, 0.5f, 0.9f, 1.0f})
      for (int64_t n : kSizes)
        for (int offset : {0, 1}) {
          const std::string what = "n=" + std::to_string(n) + " p=" + std::to_string(p) +
                                   " seed=" + std::to_string(s.seed) +
                                   " pad=" + std::to_string(offset);
          const float scale = p == 1.0f ? 0.0f : 1.0f / (1.0f - p);
          // All ones first: the output is the mask times scale.
          for (bool ones : {true, false}) {
            const std::vector<float> x =
                ones ? std::vector<float>(n, 1.0f) : uniform_floats(n, 71 + n, -1e30f, 1e30f);
            std::vector<float> y_ref(n), dx_ref(n);
            kernels::cpu::dropout_forward(x.data(), y_ref.data(), n, p, scale, s.seed, s.offset);
            kernels::cpu::dropout_backward(x.data(), dx_ref.data(), n, p, scale, s.seed,
                                           s.offset);
            DeviceBuffer<float> dx(padded(x, offset)), dy(n + offset), dgrad(n + offset);
            kernels::cuda::dropout_forward(dx.get() + offset, dy.get() + offset, n, p, scale,
                                           s.seed, nullptr, s.offset, stream());
            kernels::cuda::dropout_backward(dx.get() + offset, dgrad.get() + offset, n, p, scale,
                                            s.seed, nullptr, s.offset, stream());
            EXPECT_TRUE(bitwise_equal(tail(dy.to_host(), offset), y_ref)) << what;
            EXPECT_TRUE(bitwise_equal(tail(dgrad.to_host(), offset), dx_ref)) << what;
          }
        }
}

// More Philox blocks than the grid has threads (8192 blocks of 256), so
// threads loop; unaligned, so the scalar path runs.
TEST(GpuDropout, GridStrideLoopMatchesCpu) {
  DANLU_REQUIRE_GPU();
  const int64_t n = 4 * 8192 * 256 + 5;
  const std::vector<float> x = uniform_floats(n, 72, -1.0f, 1.0f);
  std::vector<float> ref(n);
  kernels::cpu::dropout_forward(x.data(), ref.data(), n, 0.25f, 1.0f / 0.75f, 3, 11);
  DeviceBuffer<float> dx(padded(x, 1)), dy(n + 1);
  kernels::cuda::dropout_forward(dx.get() + 1, dy.get() + 1, n, 0.25f, 1.0f / 0.75f, 3, nullptr,
                                 11, stream());
  EXPECT_TRUE(bitwise_equal(tail(dy.to_host(), 1), ref));
}

// In a captured step the offset is a device base plus the draw's own part:
// base 5 and offset 6 give the CPU's mask at offset 11.
TEST(GpuDropout, AnOffsetBaseOnTheDeviceAddsToTheOffset) {
  DANLU_REQUIRE_GPU();
  const int64_t n = 1001;
  const std::vector<float> x = uniform_floats(n, 73, -1.0f, 1.0f);
  std::vector<float> ref(n), dref(n);
  kernels::cpu::dropout_forward(x.data(), ref.data(), n, 0.4f, 1.0f / 0.6f, 8, 11);
  kernels::cpu::dropout_backward(x.data(), dref.data(), n, 0.4f, 1.0f / 0.6f, 8, 11);
  DeviceBuffer<float> dx(x), dy(n), dgrad(n);
  DeviceBuffer<uint64_t> base(std::vector<uint64_t>{5});
  kernels::cuda::dropout_forward(dx.get(), dy.get(), n, 0.4f, 1.0f / 0.6f, 8, base.get(), 6,
                                 stream());
  kernels::cuda::dropout_backward(dx.get(), dgrad.get(), n, 0.4f, 1.0f / 0.6f, 8, base.get(), 6,
                                  stream());
  EXPECT_TRUE(bitwise_equal(dy.to_host(), ref));
  EXPECT_TRUE(bitwise_equal(dgrad.to_host(), dref));
}

TEST(GpuDropout, KeepsAboutOneMinusP) {
  DANLU_REQUIRE_GPU();
  const int64_t n = 1000003;
  DeviceBuffer<float> dx(std::vector<float>(n, 1.0f)), dy(n);
  kernels::cuda::dropout_forward(dx.get(), dy.get(), n, 0.3f, 1.0f, 99, nullptr, 0, stream());
  int64_t kept = 0;
  for (float v : dy.to_host()) kept += v != 0.0f;
  // Binomial(n, 0.7): standard deviation sqrt(n * 0.21) ~ 458; 5 sigma.
  EXPECT_NEAR(static_cast<double>(kept), 0.7 * n, 5 * 458.0);
}

// The op on both devices with equal generators reserves the same Philox
// range, so the outputs and gradients agree bit for bit.
TEST(GpuDropoutOps, ForwardAndBackwardMatchCpu) {
  DANLU_REQUIRE_GPU();
  const std::vector<float> v = uniform_floats(3 * 5 * 7, 81, -2.0f, 2.0f);
  const Shape shape{3, 5, 7};
  Generator gen_cpu(5), gen_gpu(5);
  Tensor x_cpu = Tensor::from_vector(v, shape, TensorOptions().requires_grad());
  Tensor x_gpu =
      Tensor::from_vector(v, shape, TensorOptions().device(Device::cuda()).requires_grad());
  for (int round = 0; round < 2; ++round) {  // the second call draws a fresh mask
    Tensor y_cpu = dropout(x_cpu, 0.4, true, &gen_cpu);
    Tensor y_gpu = dropout(x_gpu, 0.4, true, &gen_gpu);
    const std::vector<double> a = y_gpu.to_vector(), b = y_cpu.to_vector();
    EXPECT_EQ(a, b) << "round " << round;
    const Tensor g = Tensor::from_vector(uniform_floats(v.size(), 82 + round, -1, 1), shape);
    y_cpu.backward(g);
    y_gpu.backward(g.to(Device::cuda()));
    EXPECT_EQ(x_gpu.grad().to_vector(), x_cpu.grad().to_vector()) << "round " << round;
    x_cpu.zero_grad();
    x_gpu.zero_grad();
  }
}

}  // namespace
}  // namespace danlu
