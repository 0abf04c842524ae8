// CUDA fused softmax cross-entropy against the CPU reference: 1, 7, 10, 1000
// (a warp per row), 1025 and 5000 classes (a block per row), a batch of 1 and
// of 4096, label smoothing 0 and 0.1, logits of +-80, the three reductions'
// backward, out-of-range targets, and the deterministic mean.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/softmax_xent.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using testing::DeviceBuffer;
using testing::expect_close_floats;
using testing::uniform_floats;

struct XentShape {
  int64_t N, C;
};

const XentShape kShapes[] = {{1, 1},   {1, 7},    {33, 10},   {5, 1000},
                             {3, 1025}, {2, 5000}, {4096, 10}, {64, 1000}};

kernels::Stream stream() { return compute_stream(Device::cuda()); }

std::vector<int64_t> targets(int64_t N, int64_t C) {
  std::vector<int64_t> t(N);
  for (int64_t n = 0; n < N; ++n) t[n] = (n * 7 + 3) % C;
  return t;
}

std::string describe(const XentShape& s, double smoothing, float range) {
  return "N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) +
         " smoothing=" + std::to_string(smoothing) + " range=" + std::to_string(range);
}

// lse = max + log(sum exp(x - max)): the float sum of up to 5000 terms is good
// to ~1e-6 relative, so log(sum) to ~1e-6 absolute, next to lse up to ~90:
// atol 1e-5, rtol 1e-6. The loss adds (max - x_t), exact in double on both
// sides, and eps * mean(x - max), whose float sum of up to 5000 terms of
// size <= 160 is good to ~1e-6 relative, i.e. ~2e-4 absolute in a mean of
// size 160; times eps = 0.1: atol 5e-5, rtol 1e-5.
constexpr double kLseAtol = 1e-5, kLseRtol = 1e-6;
constexpr double kLossAtol = 5e-5, kLossRtol = 1e-5;
// dlogits from the same lse: exp(x - lse) in float vs double (2 ulp), minus
// the same smoothed one-hot, times g (|g| <= 1): rtol 1e-5 plus a few ulp of
// the terms (<= 1): atol 1e-6.
constexpr double kGradAtol = 1e-6, kGradRtol = 1e-5;

void check_against_cpu(const XentShape& s, double smoothing, float range) {
  const std::string what = describe(s, smoothing, range);
  const std::vector<float> logits = uniform_floats(s.N * s.C, 9 + s.N * s.C, -range, range);
  const std::vector<int64_t> target = targets(s.N, s.C);
  std::vector<float> loss_ref(s.N), lse_ref(s.N);
  kernels::cpu::softmax_xent_forward(logits.data(), target.data(), loss_ref.data(),
                                     lse_ref.data(), s.N, s.C, smoothing);

  DeviceBuffer<float> d_logits(logits), d_loss(s.N), d_lse(s.N), d_lse_ref(lse_ref);
  DeviceBuffer<int64_t> d_target(target);
  kernels::cuda::softmax_xent_forward(d_logits.get(), d_target.get(), d_loss.get(), d_lse.get(),
                                      s.N, s.C, smoothing, stream());
  expect_close_floats(d_loss.to_host(), loss_ref, kLossAtol, kLossRtol, what + " loss");
  expect_close_floats(d_lse.to_host(), lse_ref, kLseAtol, kLseRtol, what + " lse");

  // Backward for reduction none (a gradient per row), mean (one scalar,
  // scale 1/N) and sum (one scalar, scale 1).
  const std::vector<float> dloss = uniform_floats(s.N, 10 + s.N, -1.0f, 1.0f);
  DeviceBuffer<float> d_dloss(dloss), d_dlogits(s.N * s.C);
  struct Reduction {
    int64_t stride;
    double scale;
    const char* name;
  };
  for (const Reduction& r : {Reduction{1, 1.0, "none"}, Reduction{0, 1.0 / s.N, "mean"},
                             Reduction{0, 1.0, "sum"}}) {
    std::vector<float> dlogits_ref(s.N * s.C);
    kernels::cpu::softmax_xent_backward(logits.data(), target.data(), lse_ref.data(),
                                        dloss.data(), r.stride, r.scale, dlogits_ref.data(), s.N,
                                        s.C, smoothing);
    kernels::cuda::softmax_xent_backward(d_logits.get(), d_target.get(), d_lse_ref.get(),
                                         d_dloss.get(), r.stride, r.scale, d_dlogits.get(), s.N,
                                         s.C, smoothing, stream());
    expect_close_floats(d_dlogits.to_host(), dlogits_ref, kGradAtol, kGradRtol,
                        what + " dlogits (" + r.name + ")");
  }
}

TEST(GpuSoftmaxXent, MatchesCpu) {
  DANLU_REQUIRE_GPU();
  for (const XentShape& s : kShapes)
    for (double smoothing : {0.0, 0.1}) check_against_cpu(s, smoothing, 4.0f);
}

TEST(GpuSoftmaxXent, LargeLogitsMatchCpu) {
  DANLU_REQUIRE_GPU();
  for (const XentShape& s : kShapes)
    for (double smoothing : {0.0, 0.1}) check_against_cpu(s, smoothing, 80.0f);
}

// The host cannot check targets on the GPU without waiting for it: a target
// outside [0, C) makes that row's loss NaN and leaves the others alone.
TEST(GpuSoftmaxXent, OutOfRangeTargetGivesNaNLoss) {
  DANLU_REQUIRE_GPU();
  const int64_t N = 3, C = 5;
  DeviceBuffer<float> d_logits(uniform_floats(N * C, 12, -2.0f, 2.0f)), d_loss(N), d_lse(N);
  DeviceBuffer<int64_t> d_target(std::vector<int64_t>{C, 2, -1});
  kernels::cuda::softmax_xent_forward(d_logits.get(), d_target.get(), d_loss.get(), d_lse.get(),
                                      N, C, 0.1, stream());
  const std::vector<float> loss = d_loss.to_host();
  EXPECT_TRUE(std::isnan(loss[0]));
  EXPECT_TRUE(std::isfinite(loss[1]));
  EXPECT_TRUE(std::isnan(loss[2]));
}

// The mean of the per-row losses: one block adds them in a fixed order, so it
// matches a double sum to float rounding of the partial sums (rtol 1e-6 for
// 100003 positive terms) and repeats bit for bit.
TEST(GpuSoftmaxXent, ReductionIsDeterministic) {
  DANLU_REQUIRE_GPU();
  for (int64_t N : {1, 33, 100003}) {
    const std::vector<float> loss = uniform_floats(N, 13 + N, 0.0f, 5.0f);
    double sum = 0.0;
    for (float l : loss) sum += l;
    DeviceBuffer<float> d_loss(loss), d_out(1);
    kernels::cuda::softmax_xent_reduce(d_loss.get(), N, 1.0 / N, d_out.get(), stream());
    const std::vector<float> first = d_out.to_host();
    expect_close_floats(first, {static_cast<float>(sum / N)}, 0.0, 1e-6,
                        "mean of " + std::to_string(N) + " losses");
    kernels::cuda::softmax_xent_reduce(d_loss.get(), N, 1.0 / N, d_out.get(), stream());
    EXPECT_TRUE(testing::bitwise_equal(first, d_out.to_host())) << N;
  }
}

TEST(GpuSoftmaxXent, RepeatedRunsAreBitIdentical) {
  DANLU_REQUIRE_GPU();
  const XentShape s{65, 5000};
  DeviceBuffer<float> d_logits(uniform_floats(s.N * s.C, 14, -8.0f, 8.0f));
  DeviceBuffer<int64_t> d_target(targets(s.N, s.C));
  DeviceBuffer<float> d_loss(s.N), d_lse(s.N);
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    kernels::cuda::softmax_xent_forward(d_logits.get(), d_target.get(), d_loss.get(),
                                        d_lse.get(), s.N, s.C, 0.1, stream());
    if (run == 0) first = d_loss.to_host();
  }
  EXPECT_TRUE(testing::bitwise_equal(first, d_loss.to_host()));
}

// cross_entropy on GPU tensors through autograd, for each reduction, against
// the CPU: the kernels' bounds above (the loss of a mean or sum is reduced
// in a fixed order on the GPU and in double on the CPU).
TEST(GpuCrossEntropyOp, LossAndGradientMatchCpu) {
  DANLU_REQUIRE_GPU();
  const Device gpu = Device::cuda();
  Generator gen(52);
  const Tensor logits = Tensor::randn({64, 10}, {}, &gen);
  const Tensor target = Tensor::from_vector(targets(64, 10), {64});
  for (Reduction reduction : {Reduction::none, Reduction::mean, Reduction::sum}) {
    const CrossEntropyOptions options{reduction, 0.1};
    Tensor lc = logits.clone().set_requires_grad(), lg = logits.to(gpu).set_requires_grad();
    Tensor loss = cross_entropy(lc, target, options);
    Tensor loss_g = cross_entropy(lg, target.to(gpu), options);
    const Tensor g = Tensor::rand(loss.shape(), {}, &gen);  // |g| <= 1, as the bounds assume
    loss.backward(g);
    loss_g.backward(g.to(gpu));
    testing::expect_close(loss_g.to(Device::cpu()), loss, kLossAtol, kLossRtol, "loss");
    testing::expect_close(lg.grad().to(Device::cpu()), lc.grad(), kGradAtol, kGradRtol,
                          "dlogits");
  }
}

}  // namespace
}  // namespace danlu
