// BatchNorm1d/2d: buffers and names, batch vs running statistics in train
// and eval, num_batches_tracked, momentum (incl. the cumulative average),
// the affine / track_running_stats switches and the errors.
#include <gtest/gtest.h>

#include <cmath>

#include "danlu.h"
#include "layers/batchnorm.h"
#include "tests/support/expect_close.h"

namespace danlu::nn {
namespace {

// Per-channel mean and (biased or unbiased) variance of an (N, C, H, W) tensor.
struct ChannelStats {
  std::vector<double> mean, var_biased, var_unbiased;
};

ChannelStats channel_stats(const Tensor& x) {
  const std::vector<double> v = x.to_vector();
  const int64_t n = x.size(0), c = x.size(1), s = x.numel() / (n * c);
  ChannelStats out;
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < s; ++j) sum += v[(i * c + ch) * s + j];
    const double mean = sum / static_cast<double>(n * s);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < s; ++j) sq += std::pow(v[(i * c + ch) * s + j] - mean, 2);
    out.mean.push_back(mean);
    out.var_biased.push_back(sq / static_cast<double>(n * s));
    out.var_unbiased.push_back(sq / static_cast<double>(n * s - 1));
  }
  return out;
}

Tensor random_batch(uint64_t seed, double shift = 2.0) {
  Generator gen(seed);
  return Tensor::randn({8, 3, 5, 4}, DType::f64, &gen) * 1.5 + shift;
}

TEST(BatchNorm2d, ParametersAndBuffersAsPyTorch) {
  BatchNorm2d bn(4);
  EXPECT_EQ(bn.state_dict().keys(), (std::vector<std::string>{"weight", "bias", "running_mean",
                                                              "running_var",
                                                              "num_batches_tracked"}));
  EXPECT_EQ(bn.named_parameters().size(), 2u);
  EXPECT_EQ(bn.weight.to_vector(), (std::vector<double>{1, 1, 1, 1}));
  EXPECT_EQ(bn.bias.to_vector(), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(bn.running_mean.to_vector(), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(bn.running_var.to_vector(), (std::vector<double>{1, 1, 1, 1}));
  EXPECT_EQ(bn.num_batches_tracked.dtype(), DType::i64);
  EXPECT_EQ(bn.num_batches_tracked.dim(), 0);
  EXPECT_EQ(bn.num_batches_tracked.item(), 0.0);
  EXPECT_EQ(bn.describe(),
            "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
}

TEST(BatchNorm2d, TrainingNormalisesWithBatchStatsAndUpdatesRunningOnes) {
  BatchNorm2d bn(3);
  bn.to(DType::f64);
  const Tensor x = random_batch(1);
  const ChannelStats in = channel_stats(x);
  const ChannelStats out = channel_stats(bn(x));
  // Normalised output: mean 0 and biased variance var/(var + eps) ~ 1.
  testing::expect_close(out.mean, {0, 0, 0}, 1e-12, 0, "mean");
  testing::expect_close(out.var_biased, {1, 1, 1}, 1e-4, 0, "var");
  std::vector<double> rm, rv;
  for (int c = 0; c < 3; ++c) {
    rm.push_back(0.1 * in.mean[c]);
    rv.push_back(0.9 + 0.1 * in.var_unbiased[c]);  // PyTorch feeds the unbiased variance
  }
  testing::expect_close(bn.running_mean.to_vector(), rm, 1e-12, 1e-12, "running_mean");
  testing::expect_close(bn.running_var.to_vector(), rv, 1e-12, 1e-12, "running_var");
  EXPECT_EQ(bn.num_batches_tracked.item(), 1.0);
  bn(x);
  EXPECT_EQ(bn.num_batches_tracked.item(), 2.0);
}

TEST(BatchNorm2d, EvalUsesRunningStatsAndLeavesThemAlone) {
  BatchNorm2d bn(BatchNorm2dOptions(3).eps(1e-3));
  bn.to(DType::f64);
  bn(random_batch(1));
  bn.eval();
  const std::vector<double> rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
  const Tensor x = random_batch(2);
  const std::vector<double> y = bn(x).to_vector(), xv = x.to_vector();
  std::vector<double> expected(xv.size());
  for (size_t i = 0; i < xv.size(); ++i) {
    const size_t c = (i / 20) % 3;
    expected[i] = (xv[i] - rm[c]) / std::sqrt(rv[c] + 1e-3);
  }
  testing::expect_close(y, expected, 1e-12, 1e-12, "eval output");
  EXPECT_EQ(bn.running_mean.to_vector(), rm);
  EXPECT_EQ(bn.num_batches_tracked.item(), 1.0);
}

TEST(BatchNorm2d, MomentumNoneIsACumulativeAverage) {
  BatchNorm2d bn(BatchNorm2dOptions(3).momentum(std::nullopt));
  bn.to(DType::f64);
  const Tensor a = random_batch(1, 0.0), b = random_batch(2, 5.0);
  bn(a);
  bn(b);
  const ChannelStats sa = channel_stats(a), sb = channel_stats(b);
  std::vector<double> rm;
  for (int c = 0; c < 3; ++c) rm.push_back(0.5 * (sa.mean[c] + sb.mean[c]));
  testing::expect_close(bn.running_mean.to_vector(), rm, 1e-12, 1e-12, "running_mean");
  EXPECT_EQ(bn.describe(),
            "BatchNorm2d(3, eps=1e-05, momentum=None, affine=True, track_running_stats=True)");
}

TEST(BatchNorm2d, WithoutRunningStatsEvalStillUsesTheBatch) {
  BatchNorm2d bn(BatchNorm2dOptions(3).track_running_stats(false).affine(false));
  EXPECT_TRUE(bn.state_dict().empty());
  EXPECT_FALSE(bn.running_mean.defined());
  bn.to(DType::f64);
  bn.eval();
  testing::expect_close(channel_stats(bn(random_batch(3))).mean, {0, 0, 0}, 1e-12, 0, "mean");
}

TEST(BatchNorm2d, AffineTransformAndGradients) {
  BatchNorm2d bn(3);
  bn.to(DType::f64);
  bn.weight.copy_(Tensor::from_vector(std::vector<double>{2, 3, 4}, {3}, DType::f64));
  bn.bias.copy_(Tensor::from_vector(std::vector<double>{-1, 0, 1}, {3}, DType::f64));
  const Tensor y = bn(random_batch(4));
  testing::expect_close(channel_stats(y).mean, {-1, 0, 1}, 1e-12, 1e-12, "mean");
  sum(y).backward();
  // d(sum y)/d(bias) counts the elements per channel; d/d(weight) = sum of x_hat = 0.
  EXPECT_EQ(bn.bias.grad().to_vector(), (std::vector<double>{160, 160, 160}));
  testing::expect_close(bn.weight.grad().to_vector(), {0, 0, 0}, 1e-9, 0, "dweight");
}

TEST(BatchNorm1d, AcceptsTwoAndThreeDims) {
  BatchNorm1d bn(4);
  EXPECT_EQ(bn(Tensor::randn({5, 4})).shape(), Shape({5, 4}));
  EXPECT_EQ(bn(Tensor::randn({5, 4, 7})).shape(), Shape({5, 4, 7}));
  EXPECT_THROW(bn(Tensor::randn({5, 4, 7, 7})), Error);
  EXPECT_EQ(bn.num_batches_tracked.item(), 2.0);
  EXPECT_EQ(bn.describe(),
            "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
}

TEST(BatchNorm2d, ErrorsNameTheLayer) {
  EXPECT_THROW(BatchNorm2d(0), Error);
  EXPECT_THROW(BatchNorm2d(BatchNorm2dOptions(3).momentum(1.5)), Error);
  BatchNorm2d bn(3);
  try {
    bn(Tensor::zeros({2, 3}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "BatchNorm2d: expected a 4-d input (N, C, H, W), got (2, 3)");
  }
  try {
    bn(Tensor::zeros({2, 4, 5, 5}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "BatchNorm2d: expected 3 channels, got 4 (input (2, 4, 5, 5))");
  }
  // One value per channel cannot be normalised in training (PyTorch's rule),
  // and the failed call does not count as a tracked batch.
  EXPECT_THROW(bn(Tensor::zeros({1, 3, 1, 1})), Error);
  EXPECT_EQ(bn.num_batches_tracked.item(), 0.0);
  bn.eval();
  EXPECT_EQ(bn(Tensor::zeros({1, 3, 1, 1})).shape(), Shape({1, 3, 1, 1}));
}

}  // namespace
}  // namespace danlu::nn
