// CUDA batch norm (and the fused batch norm + ReLU) against the CPU
// reference: training and eval forward with the running-statistics update,
// backward in both modes, with and without affine parameters, on shapes with
// 1 and 130 channels, spatial sizes 1, 33 and 1025, a batch of 1 and of 128
// at 7 x 7 and 16 at 28 x 28 (many blocks per channel), inputs centred at 0
// and at 1e3, and repeated runs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/activation.h"
#include "kernels/batchnorm.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using testing::DeviceBuffer;
using testing::expect_close_floats;
using testing::uniform_floats;

struct BnShape {
  int64_t N, C, S;
};

// (128, 4, 49) and (16, 8, 784) spread each channel over 7 and 13 blocks.
const BnShape kShapes[] = {{1, 1, 2},    {1, 3, 33},   {5, 7, 1},     {2, 1, 5},
                           {3, 7, 1025}, {4, 130, 3},  {128, 4, 49}, {16, 8, 784},
                           {2, 3, 8200}};  // planes in several parts of float4s

constexpr double kMomentum = 0.1, kEps = 1e-5;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

std::string describe(const BnShape& s, float offset, bool affine, bool relu) {
  return std::string(relu ? "batch_norm_relu" : "batch_norm") + " (" + std::to_string(s.N) +
         ", " + std::to_string(s.C) + ", " + std::to_string(s.S) + ") offset " +
         std::to_string(offset) + (affine ? " affine" : "");
}

// One problem: x in offset + [-2, 2), weight in [0.5, 1.5), bias in [-1, 1),
// running mean in [-0.5, 0.5), running var in [0.5, 2), dy in [-1, 1).
struct Problem {
  BnShape s;
  std::vector<float> x, weight, bias, running_mean, running_var, dy;

  Problem(const BnShape& shape, float offset, bool affine) : s(shape) {
    const int64_t n = s.N * s.C * s.S;
    x = uniform_floats(n, 20 + n, offset - 2.0f, offset + 2.0f);
    if (affine) {
      weight = uniform_floats(s.C, 21, 0.5f, 1.5f);
      bias = uniform_floats(s.C, 22, -1.0f, 1.0f);
    }
    running_mean = uniform_floats(s.C, 23, -0.5f, 0.5f);
    running_var = uniform_floats(s.C, 24, 0.5f, 2.0f);
    dy = uniform_floats(n, 25 + n, -1.0f, 1.0f);
  }
  int64_t numel() const { return s.N * s.C * s.S; }
  const float* w() const { return weight.empty() ? nullptr : weight.data(); }
  const float* b() const { return bias.empty() ? nullptr : bias.data(); }
};

// A tensor that may be absent (weight, bias without affine) on the device.
struct OptionalBuffer {
  explicit OptionalBuffer(const std::vector<float>& v) : buffer(v) {}
  float* get() { return buffer.size() ? buffer.get() : nullptr; }
  DeviceBuffer<float> buffer;
};

// Tolerances. The GPU keeps the mean in float, so x - mean carries up to half
// an ulp of the mean (3e-5 at 1e3) times invstd * weight (< 3): y gets
// atol 1e-5 + 1e-7 * offset. The statistics come from Welford states of
// x - x[0] merged in a tree and then in double: mean and running mean to
// float rounding (rtol 1e-6), invstd and running var to rtol 1e-5.
double y_atol(float offset) { return 1e-5 + 1e-7 * offset; }
constexpr double kMeanAtol = 1e-6, kMeanRtol = 1e-6;
constexpr double kVarAtol = 1e-6, kVarRtol = 1e-5;

// dbias and dweight add M = N * S terms of size <= 1 (<= 2 for dy * xhat) in
// float within blocks: at worst M ulps of the terms, atol 1e-7 * M (2e-7 * M),
// rtol 1e-5. dx = w * invstd * (dy - mean dy - xhat * mean(dy xhat)) from the
// same saved statistics: terms of size < 10, atol 1e-5, rtol 1e-5.
constexpr double kDxAtol = 1e-5, kGradRtol = 1e-5;

void check_training(const Problem& p, float offset, bool relu) {
  const BnShape& s = p.s;
  const std::string what = describe(s, offset, p.w() != nullptr, relu);
  const int64_t n = p.numel(), M = s.N * s.S;

  // CPU: the forward, then ReLU in place when fused.
  std::vector<float> y_ref(n), mean_ref(s.C), invstd_ref(s.C);
  std::vector<float> rm_ref = p.running_mean, rv_ref = p.running_var;
  kernels::cpu::batchnorm_forward_train(p.x.data(), p.w(), p.b(), y_ref.data(), mean_ref.data(),
                                        invstd_ref.data(), rm_ref.data(), rv_ref.data(), s.N,
                                        s.C, s.S, kMomentum, kEps);
  if (relu)
    kernels::cpu::activation_forward(kernels::Activation::relu, y_ref.data(), y_ref.data(), n,
                                     0.0f);

  DeviceBuffer<float> d_x(p.x), d_y(n), d_mean(s.C), d_invstd(s.C);
  DeviceBuffer<float> d_rm(p.running_mean), d_rv(p.running_var);
  OptionalBuffer d_w(p.weight), d_b(p.bias);
  auto forward = relu ? kernels::cuda::batchnorm_relu_forward_train
                      : kernels::cuda::batchnorm_forward_train;
  forward(d_x.get(), d_w.get(), d_b.get(), d_y.get(), d_mean.get(), d_invstd.get(), d_rm.get(),
          d_rv.get(), s.N, s.C, s.S, kMomentum, kEps, stream());
  expect_close_floats(d_y.to_host(), y_ref, y_atol(offset), kGradRtol, what + " y");
  expect_close_floats(d_mean.to_host(), mean_ref, kMeanAtol, kMeanRtol, what + " save_mean");
  expect_close_floats(d_invstd.to_host(), invstd_ref, kVarAtol, kVarRtol, what + " save_invstd");
  expect_close_floats(d_rm.to_host(), rm_ref, kMeanAtol, kMeanRtol, what + " running_mean");
  expect_close_floats(d_rv.to_host(), rv_ref, kVarAtol, kVarRtol, what + " running_var");

  // Backward from the CPU's saved statistics (and its y for the ReLU mask).
  std::vector<float> dy_bn = p.dy;
  if (relu)
    kernels::cpu::activation_backward(kernels::Activation::relu, y_ref.data(), p.dy.data(),
                                      dy_bn.data(), n, 0.0f);
  for (bool training : {true, false}) {
    std::vector<float> dx_ref(n), dw_ref(s.C), db_ref(s.C);
    kernels::cpu::batchnorm_backward(dy_bn.data(), p.x.data(), p.w(), mean_ref.data(),
                                     invstd_ref.data(), dx_ref.data(), dw_ref.data(),
                                     db_ref.data(), s.N, s.C, s.S, training);
    DeviceBuffer<float> d_dy(p.dy), d_y_ref(y_ref), d_mean_ref(mean_ref),
        d_invstd_ref(invstd_ref), d_dx(n), d_dw(s.C), d_db(s.C);
    if (relu)
      kernels::cuda::batchnorm_relu_backward(d_y_ref.get(), d_dy.get(), d_x.get(), d_w.get(),
                                             d_mean_ref.get(), d_invstd_ref.get(), d_dx.get(),
                                             d_dw.get(), d_db.get(), s.N, s.C, s.S, training,
                                             stream());
    else
      kernels::cuda::batchnorm_backward(d_dy.get(), d_x.get(), d_w.get(), d_mean_ref.get(),
                                        d_invstd_ref.get(), d_dx.get(), d_dw.get(), d_db.get(),
                                        s.N, s.C, s.S, training, stream());
    const std::string mode = training ? " (training)" : " (eval)";
    expect_close_floats(d_dx.to_host(), dx_ref, kDxAtol, kGradRtol, what + " dx" + mode);
    expect_close_floats(d_dw.to_host(), dw_ref, 2e-7 * M, kGradRtol, what + " dweight" + mode);
    expect_close_floats(d_db.to_host(), db_ref, 1e-7 * M, kGradRtol, what + " dbias" + mode);
  }
}

void check_eval(const Problem& p, float offset, bool relu) {
  const BnShape& s = p.s;
  const std::string what = describe(s, offset, p.w() != nullptr, relu) + " eval";
  const int64_t n = p.numel();
  std::vector<float> y_ref(n), mean_ref(s.C), invstd_ref(s.C);
  kernels::cpu::batchnorm_forward_eval(p.x.data(), p.w(), p.b(), p.running_mean.data(),
                                       p.running_var.data(), y_ref.data(), mean_ref.data(),
                                       invstd_ref.data(), s.N, s.C, s.S, kEps);
  if (relu)
    kernels::cpu::activation_forward(kernels::Activation::relu, y_ref.data(), y_ref.data(), n,
                                     0.0f);
  DeviceBuffer<float> d_x(p.x), d_y(n), d_mean(s.C), d_invstd(s.C);
  DeviceBuffer<float> d_rm(p.running_mean), d_rv(p.running_var);
  OptionalBuffer d_w(p.weight), d_b(p.bias);
  auto forward = relu ? kernels::cuda::batchnorm_relu_forward_eval
                      : kernels::cuda::batchnorm_forward_eval;
  forward(d_x.get(), d_w.get(), d_b.get(), d_rm.get(), d_rv.get(), d_y.get(), d_mean.get(),
          d_invstd.get(), s.N, s.C, s.S, kEps, stream());
  // Eval normalises x around the running mean (|mean| < 0.5), so x - mean is
  // as large as x itself: a few ulp of |x| <= offset + 2 times the scale (< 3).
  expect_close_floats(d_y.to_host(), y_ref, 1e-6 + 1e-6 * offset, kGradRtol, what + " y");
  expect_close_floats(d_mean.to_host(), mean_ref, 0.0, 0.0, what + " save_mean");
  expect_close_floats(d_invstd.to_host(), invstd_ref, 0.0, 0.0, what + " save_invstd");
}

TEST(GpuBatchNorm, TrainingMatchesCpu) {
  DANLU_REQUIRE_GPU();
  for (const BnShape& s : kShapes)
    for (float offset : {0.0f, 1000.0f}) check_training(Problem(s, offset, true), offset, false);
  check_training(Problem({3, 7, 1025}, 0.0f, false), 0.0f, false);  // no weight or bias
}

TEST(GpuBatchNorm, EvalMatchesCpu) {
  DANLU_REQUIRE_GPU();
  for (const BnShape& s : kShapes)
    for (float offset : {0.0f, 1000.0f}) check_eval(Problem(s, offset, true), offset, false);
  check_eval(Problem({3, 7, 1025}, 0.0f, false), 0.0f, false);
}

// The fused pair equals batch norm followed by relu on the CPU, forward and
// backward (the ReLU mask read from the output).
TEST(GpuBatchNormRelu, MatchesCpuComposition) {
  DANLU_REQUIRE_GPU();
  for (const BnShape& s : kShapes) {
    check_training(Problem(s, 0.0f, true), 0.0f, true);
    check_eval(Problem(s, 0.0f, true), 0.0f, true);
  }
  check_training(Problem({3, 7, 1025}, 0.0f, false), 0.0f, true);
}

// Fixed reduction order: the same inputs give the same bits, statistics and
// gradients included, on a shape that spreads each channel over 13 blocks.
TEST(GpuBatchNorm, RepeatedRunsAreBitIdentical) {
  DANLU_REQUIRE_GPU();
  const Problem p({16, 8, 784}, 3.0f, true);
  const BnShape& s = p.s;
  const int64_t n = p.numel();
  DeviceBuffer<float> d_x(p.x), d_w(p.weight), d_b(p.bias), d_dy(p.dy);
  std::vector<std::vector<float>> first;
  for (int run = 0; run < 2; ++run) {
    DeviceBuffer<float> d_rm(p.running_mean), d_rv(p.running_var), d_y(n), d_mean(s.C),
        d_invstd(s.C), d_dx(n), d_dw(s.C), d_db(s.C);
    kernels::cuda::batchnorm_forward_train(d_x.get(), d_w.get(), d_b.get(), d_y.get(),
                                           d_mean.get(), d_invstd.get(), d_rm.get(), d_rv.get(),
                                           s.N, s.C, s.S, kMomentum, kEps, stream());
    kernels::cuda::batchnorm_backward(d_dy.get(), d_x.get(), d_w.get(), d_mean.get(),
                                      d_invstd.get(), d_dx.get(), d_dw.get(), d_db.get(), s.N,
                                      s.C, s.S, true, stream());
    const std::vector<std::vector<float>> out = {
        d_y.to_host(),  d_mean.to_host(), d_invstd.to_host(), d_rm.to_host(),
        d_rv.to_host(), d_dx.to_host(),   d_dw.to_host(),     d_db.to_host()};
    if (run == 0) {
      first = out;
      continue;
    }
    for (size_t i = 0; i < out.size(); ++i)
      EXPECT_TRUE(testing::bitwise_equal(first[i], out[i])) << "output " << i;
  }
}

// The ops on GPU tensors through autograd, against the same ops on the CPU:
// the wiring of both kernels' arguments, the running buffers updated in
// place on the device, and the fused op's saved output. Tolerances as the
// kernel tests above for inputs centred at 0 (M = 8 * 63 values per channel).
TEST(GpuBatchNormOp, ForwardBackwardAndRunningStatsMatchCpu) {
  DANLU_REQUIRE_GPU();
  const Device gpu = Device::cuda();
  for (bool relu : {false, true}) {
    const auto op = relu ? batch_norm_relu : batch_norm;
    const std::string what = relu ? "batch_norm_relu" : "batch_norm";
    Generator gen(51);
    const Tensor x = Tensor::randn({8, 5, 7, 9}, {}, &gen);
    const Tensor gy = Tensor::from_vector(uniform_floats(x.numel(), 53, -1.0f, 1.0f), x.shape());
    const Tensor w = Tensor::rand({5}, {}, &gen), b = Tensor::randn({5}, {}, &gen);
    Tensor xc = x.clone().set_requires_grad(), wc = w.clone().set_requires_grad(),
           bc = b.clone().set_requires_grad();
    Tensor rm = Tensor::zeros({5}), rv = Tensor::ones({5});
    Tensor xg = x.to(gpu).set_requires_grad(), wg = w.to(gpu).set_requires_grad(),
           bg = b.to(gpu).set_requires_grad();
    Tensor rmg = rm.to(gpu), rvg = rv.to(gpu);
    for (bool training : {true, false}) {
      const std::string mode = what + (training ? " training" : " eval");
      Tensor y = op(xc, rm, rv, wc, bc, training, 0.1, 1e-5);
      Tensor yg = op(xg, rmg, rvg, wg, bg, training, 0.1, 1e-5);
      y.backward(gy);
      yg.backward(gy.to(gpu));
      testing::expect_close(yg.to(Device::cpu()), y, 1e-5, 1e-5, mode + " y");
      testing::expect_close(rmg.to(Device::cpu()), rm, kMeanAtol, kMeanRtol, mode + " running_mean");
      testing::expect_close(rvg.to(Device::cpu()), rv, kVarAtol, kVarRtol, mode + " running_var");
      testing::expect_close(xg.grad().to(Device::cpu()), xc.grad(), kDxAtol, kGradRtol, mode + " dx");
      testing::expect_close(wg.grad().to(Device::cpu()), wc.grad(), 2e-7 * 504, kGradRtol,
                            mode + " dweight");
      testing::expect_close(bg.grad().to(Device::cpu()), bc.grad(), 1e-7 * 504, kGradRtol,
                            mode + " dbias");
      for (Tensor* t : {&xc, &wc, &bc, &xg, &wg, &bg}) t->zero_grad();
    }
  }
}

}  // namespace
}  // namespace danlu
