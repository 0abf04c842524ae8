// CUDA layer norm against the CPU reference: rows of 1, 7, 33 and 1000
// elements (a warp per row) and of 1025 and 5000 (a block per row), a single
// row and 1024 rows, with and without affine parameters, inputs centred at 0
// and at 1e3, and repeated runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/layernorm.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using testing::DeviceBuffer;
using testing::expect_close_floats;
using testing::uniform_floats;

struct LnShape {
  int64_t M, D;
};

const LnShape kShapes[] = {{1, 1},    {1, 33},   {33, 7},    {5, 1000},
                           {3, 1025}, {2, 5000}, {1024, 64}, {1, 1025}};

constexpr double kEps = 1e-5;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

// Tolerances, as for batch norm: the float mean of a row at 1e3 is good to
// half an ulp (3e-5), which x - mean passes on times rstd * weight (< 3):
// y atol 1e-5 + 1e-7 * offset. Welford of x - x[0] gives mean and rstd to
// rtol 1e-6 and 1e-5. dx comes from the same saved statistics with row sums
// in float (terms of size < 10): atol 1e-5, rtol 1e-5. dweight and dbias add
// M terms of size <= 2 in float: atol 2e-7 * M, rtol 1e-5.
double y_atol(float offset) { return 1e-5 + 1e-7 * offset; }

void check_against_cpu(const LnShape& s, float offset, bool affine) {
  const std::string what = "layer_norm (" + std::to_string(s.M) + ", " + std::to_string(s.D) +
                           ") offset " + std::to_string(offset) + (affine ? " affine" : "");
  const int64_t n = s.M * s.D;
  const std::vector<float> x = uniform_floats(n, 30 + n, offset - 2.0f, offset + 2.0f);
  const std::vector<float> dy = uniform_floats(n, 31 + n, -1.0f, 1.0f);
  std::vector<float> weight, bias;
  if (affine) {
    weight = uniform_floats(s.D, 32, 0.5f, 1.5f);
    bias = uniform_floats(s.D, 33, -1.0f, 1.0f);
  }
  const float* w = affine ? weight.data() : nullptr;
  const float* b = affine ? bias.data() : nullptr;

  std::vector<float> y_ref(n), mean_ref(s.M), rstd_ref(s.M);
  kernels::cpu::layernorm_forward(x.data(), w, b, y_ref.data(), mean_ref.data(), rstd_ref.data(),
                                  s.M, s.D, kEps);
  std::vector<float> dx_ref(n), dw_ref(s.D), db_ref(s.D);
  kernels::cpu::layernorm_backward(dy.data(), x.data(), w, mean_ref.data(), rstd_ref.data(),
                                   dx_ref.data(), dw_ref.data(), db_ref.data(), s.M, s.D);

  DeviceBuffer<float> d_x(x), d_w(weight), d_b(bias), d_y(n), d_mean(s.M), d_rstd(s.M);
  float* dw_ptr = affine ? d_w.get() : nullptr;
  float* db_ptr = affine ? d_b.get() : nullptr;
  kernels::cuda::layernorm_forward(d_x.get(), dw_ptr, db_ptr, d_y.get(), d_mean.get(),
                                   d_rstd.get(), s.M, s.D, kEps, stream());
  expect_close_floats(d_y.to_host(), y_ref, y_atol(offset), 1e-5, what + " y");
  expect_close_floats(d_mean.to_host(), mean_ref, 1e-6, 1e-6, what + " mean");
  expect_close_floats(d_rstd.to_host(), rstd_ref, 1e-6, 1e-5, what + " rstd");

  // Backward from the CPU's saved statistics.
  DeviceBuffer<float> d_dy(dy), d_mean_ref(mean_ref), d_rstd_ref(rstd_ref), d_dx(n),
      d_dweight(s.D), d_dbias(s.D);
  kernels::cuda::layernorm_backward(d_dy.get(), d_x.get(), dw_ptr, d_mean_ref.get(),
                                    d_rstd_ref.get(), d_dx.get(), d_dweight.get(),
                                    d_dbias.get(), s.M, s.D, stream());
  // Contracted multiply-adds (nvcc's default; the emulator's DANLU_EMULATOR_FMA)
  // compute g - mean_g from the unrounded product dy * w: up to half an ulp of
  // |g| < 2 (2^-24) that separately rounded code cancels, and rs passes it
  // on. rs reaches 1/sqrt(eps) = 316 in a row of equal values (D = 1), so
  // dx atol 1e-5 + 2^-24 * max rstd (1.9e-5 there, nothing elsewhere).
  const double max_rstd = *std::max_element(rstd_ref.begin(), rstd_ref.end());
  expect_close_floats(d_dx.to_host(), dx_ref, 1e-5 + 0x1p-24 * max_rstd, 1e-5, what + " dx");
  expect_close_floats(d_dweight.to_host(), dw_ref, 2e-7 * s.M, 1e-5, what + " dweight");
  expect_close_floats(d_dbias.to_host(), db_ref, 2e-7 * s.M, 1e-5, what + " dbias");
}

TEST(GpuLayerNorm, MatchesCpu) {
  DANLU_REQUIRE_GPU();
  for (const LnShape& s : kShapes)
    for (float offset : {0.0f, 1000.0f}) check_against_cpu(s, offset, true);
  for (const LnShape& s : kShapes) check_against_cpu(s, 0.0f, false);
}

TEST(GpuLayerNorm, RepeatedRunsAreBitIdentical) {
  DANLU_REQUIRE_GPU();
  for (const LnShape& s : {LnShape{1024, 64}, LnShape{7, 5000}}) {
    const int64_t n = s.M * s.D;
    DeviceBuffer<float> d_x(uniform_floats(n, 34, -3.0f, 3.0f));
    DeviceBuffer<float> d_w(uniform_floats(s.D, 35, 0.5f, 1.5f));
    DeviceBuffer<float> d_dy(uniform_floats(n, 36, -1.0f, 1.0f));
    std::vector<std::vector<float>> first;
    for (int run = 0; run < 2; ++run) {
      DeviceBuffer<float> d_y(n), d_mean(s.M), d_rstd(s.M), d_dx(n), d_dw(s.D), d_db(s.D);
      kernels::cuda::layernorm_forward(d_x.get(), d_w.get(), nullptr, d_y.get(), d_mean.get(),
                                       d_rstd.get(), s.M, s.D, kEps, stream());
      kernels::cuda::layernorm_backward(d_dy.get(), d_x.get(), d_w.get(), d_mean.get(),
                                        d_rstd.get(), d_dx.get(), d_dw.get(), d_db.get(), s.M,
                                        s.D, stream());
      const std::vector<std::vector<float>> out = {d_y.to_host(),  d_mean.to_host(),
                                                   d_rstd.to_host(), d_dx.to_host(),
                                                   d_dw.to_host(), d_db.to_host()};
      if (run == 0) {
        first = out;
        continue;
      }
      for (size_t i = 0; i < out.size(); ++i)
        EXPECT_TRUE(testing::bitwise_equal(first[i], out[i])) << "output " << i;
    }
  }
}

// layer_norm on GPU tensors through autograd (two normalised dims), against
// the CPU, with the kernel tests' bounds for inputs centred at 0.
TEST(GpuLayerNormOp, ForwardBackwardMatchCpu) {
  DANLU_REQUIRE_GPU();
  const Device gpu = Device::cuda();
  Generator gen(54);
  const Tensor x = Tensor::randn({6, 4, 3, 37}, {}, &gen);
  const Tensor w = Tensor::rand({3, 37}, {}, &gen), b = Tensor::randn({3, 37}, {}, &gen);
  const Tensor gy = Tensor::from_vector(uniform_floats(x.numel(), 55, -1.0f, 1.0f), x.shape());
  Tensor xc = x.clone().set_requires_grad(), wc = w.clone().set_requires_grad(),
         bc = b.clone().set_requires_grad();
  Tensor xg = x.to(gpu).set_requires_grad(), wg = w.to(gpu).set_requires_grad(),
         bg = b.to(gpu).set_requires_grad();
  Tensor y = layer_norm(xc, {3, 37}, wc, bc), yg = layer_norm(xg, {3, 37}, wg, bg);
  y.backward(gy);
  yg.backward(gy.to(gpu));
  const int64_t M = 24;
  testing::expect_close(yg.to(Device::cpu()), y, y_atol(0.0f), 1e-5, "y");
  testing::expect_close(xg.grad().to(Device::cpu()), xc.grad(), 1e-5, 1e-5, "dx");
  testing::expect_close(wg.grad().to(Device::cpu()), wc.grad(), 2e-7 * M, 1e-5, "dweight");
  testing::expect_close(bg.grad().to(Device::cpu()), bc.grad(), 2e-7 * M, 1e-5, "dbias");
}

}  // namespace
}  // namespace danlu
