// nn::init: gains and fans against PyTorch's formulas, and the statistics of
// each initialiser on large tensors against theory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "danlu.h"
#include "layers/init.h"
#include "tests/support/stats.h"

namespace danlu::nn::init {
namespace {

using testing::Stats;
using testing::stats;

// With n ~ 3e5 samples the sample std is within ~0.2% of the true one and
// the mean within ~0.5% of a std (five standard errors); 1% bounds leave a
// margin without hiding a wrong formula (the gains differ by >= 5%).
constexpr double kStdRtol = 0.01;
constexpr double kMeanAtolInStds = 0.01;

void expect_moments(const Tensor& t, double mean, double std) {
  const Stats s = stats(t);
  EXPECT_NEAR(s.mean, mean, kMeanAtolInStds * std);
  EXPECT_NEAR(s.std, std, kStdRtol * std);
}

TEST(Init, GainsMatchPyTorch) {
  for (Nonlinearity n : {Nonlinearity::linear, Nonlinearity::conv1d, Nonlinearity::conv2d,
                         Nonlinearity::conv3d, Nonlinearity::conv_transpose1d,
                         Nonlinearity::conv_transpose2d, Nonlinearity::conv_transpose3d,
                         Nonlinearity::sigmoid})
    EXPECT_EQ(calculate_gain(n), 1.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::relu), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::leaky_relu), std::sqrt(2.0 / (1.0 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::leaky_relu, 0.2), std::sqrt(2.0 / 1.04));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::leaky_relu, 0.0), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::leaky_relu, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
  EXPECT_EQ(calculate_gain(Nonlinearity::selu), 0.75);
  EXPECT_EQ(calculate_gain(Nonlinearity::relu, 0.3), std::sqrt(2.0));  // param ignored
}

TEST(Init, FansMatchPyTorch) {
  Fans linear = calculate_fan_in_and_fan_out(Tensor::empty({20, 30}));  // (out, in)
  EXPECT_EQ(linear.fan_in, 30);
  EXPECT_EQ(linear.fan_out, 20);
  // Conv2d(16, 64, (3, 5), groups=2): weight (64, 8, 3, 5).
  Fans conv = calculate_fan_in_and_fan_out(Tensor::empty({64, 8, 3, 5}));
  EXPECT_EQ(conv.fan_in, 8 * 3 * 5);
  EXPECT_EQ(conv.fan_out, 64 * 3 * 5);
  Fans conv1d = calculate_fan_in_and_fan_out(Tensor::empty({4, 5, 6}));
  EXPECT_EQ(conv1d.fan_in, 30);
  EXPECT_EQ(conv1d.fan_out, 24);
  EXPECT_THROW(calculate_fan_in_and_fan_out(Tensor::empty({5})), Error);
  EXPECT_THROW(calculate_fan_in_and_fan_out(Tensor()), Error);
}

TEST(Init, KaimingNormalFanOutRelu) {
  Generator gen(1);
  Tensor w = kaiming_normal_(Tensor::empty({256, 128, 3, 3}), 0.0, Mode::fan_out,
                             Nonlinearity::relu, &gen);
  expect_moments(w, 0.0, std::sqrt(2.0 / (256 * 9)));
}

TEST(Init, KaimingNormalFanInLeakyRelu) {
  Generator gen(2);
  Tensor w = kaiming_normal_(Tensor::empty({512, 600}, DType::f64), 0.2, Mode::fan_in,
                             Nonlinearity::leaky_relu, &gen);
  EXPECT_EQ(w.dtype(), DType::f64);
  expect_moments(w, 0.0, std::sqrt(2.0 / 1.04) / std::sqrt(600.0));
}

TEST(Init, KaimingUniformBoundAndStd) {
  Generator gen(3);
  Tensor w = kaiming_uniform_(Tensor::empty({512, 1024}), 0.0, Mode::fan_in,
                              Nonlinearity::leaky_relu, &gen);
  const double bound = std::sqrt(2.0) * std::sqrt(3.0 / 1024);
  const Stats s = stats(w);
  EXPECT_LE(s.max, bound);
  EXPECT_GE(s.min, -bound);
  EXPECT_GT(s.max, 0.999 * bound);
  EXPECT_LT(s.min, -0.999 * bound);
  expect_moments(w, 0.0, bound / std::sqrt(3.0));
}

TEST(Init, KaimingUniformFanOutTanh) {
  Generator gen(4);
  Tensor w = kaiming_uniform_(Tensor::empty({300, 40, 5, 5}), 0.0, Mode::fan_out,
                              Nonlinearity::tanh, &gen);
  const double std = (5.0 / 3.0) / std::sqrt(300.0 * 25);
  EXPECT_LE(stats(w).max, std::sqrt(3.0) * std);
  expect_moments(w, 0.0, std);
}

TEST(Init, XavierUniformAndNormal) {
  Generator gen(5);
  const double gain = calculate_gain(Nonlinearity::tanh);
  Tensor u = xavier_uniform_(Tensor::empty({300, 500, 2}), gain, &gen);  // fans 1000, 600
  const double bound = gain * std::sqrt(6.0 / 1600);
  const Stats s = stats(u);
  EXPECT_LE(s.max, bound);
  EXPECT_GE(s.min, -bound);
  expect_moments(u, 0.0, bound / std::sqrt(3.0));
  Tensor n = xavier_normal_(Tensor::empty({400, 700}), 1.0, &gen);
  expect_moments(n, 0.0, std::sqrt(2.0 / 1100));
}

TEST(Init, UniformAndNormal) {
  Generator gen(6);
  Tensor u = uniform_(Tensor::empty({300000}), -2.0, 3.0, &gen);
  const Stats s = stats(u);
  EXPECT_GE(s.min, -2.0);
  EXPECT_LT(s.max, 3.0);
  expect_moments(u, 0.5, 5.0 / std::sqrt(12.0));
  expect_moments(normal_(Tensor::empty({300000}), 1.5, 0.5, &gen), 1.5, 0.5);
  EXPECT_THROW(uniform_(Tensor::empty({2}), 1.0, 0.0), Error);
  EXPECT_THROW(normal_(Tensor::empty({2}), 0.0, -1.0), Error);
  EXPECT_THROW(normal_(Tensor::empty({2}, DType::i64)), Error);
}

// Moments of N(mu, sigma^2) truncated to [a, b].
void expect_truncated_moments(const Tensor& t, double mu, double sigma, double a, double b) {
  auto pdf = [](double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi); };
  auto cdf = [](double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); };
  const double al = (a - mu) / sigma, be = (b - mu) / sigma, z = cdf(be) - cdf(al);
  const double shift = (pdf(al) - pdf(be)) / z;
  const double var = sigma * sigma * (1 + (al * pdf(al) - be * pdf(be)) / z - shift * shift);
  const Stats s = stats(t);
  EXPECT_GE(s.min, a);
  EXPECT_LE(s.max, b);
  expect_moments(t, mu + sigma * shift, std::sqrt(var));
}

TEST(Init, TruncNormalMatchesTheTruncatedDistribution) {
  Generator gen(7);
  expect_truncated_moments(trunc_normal_(Tensor::empty({300000}), 0.0, 1.0, -2.0, 2.0, &gen),
                           0.0, 1.0, -2.0, 2.0);
  expect_truncated_moments(trunc_normal_(Tensor::empty({300000}), 1.0, 2.0, 0.0, 3.0, &gen),
                           1.0, 2.0, 0.0, 3.0);
  // Far-away bounds leave the plain normal (tests the quantile's tails).
  expect_truncated_moments(trunc_normal_(Tensor::empty({300000}), 0.0, 0.02, -1.0, 1.0, &gen),
                           0.0, 0.02, -1.0, 1.0);
  EXPECT_THROW(trunc_normal_(Tensor::empty({2}), 0.0, 1.0, 1.0, -1.0), Error);
}

TEST(Init, ConstantsAndZeroElementTensors) {
  EXPECT_EQ(constant_(Tensor::empty({3}), 0.25).to_vector(),
            (std::vector<double>{0.25, 0.25, 0.25}));
  EXPECT_EQ(zeros_(Tensor::empty({2}, DType::f64)).to_vector(), (std::vector<double>{0, 0}));
  EXPECT_EQ(ones_(Tensor::empty({2})).to_vector(), (std::vector<double>{1, 1}));
  EXPECT_EQ(kaiming_uniform_(Tensor::empty({0, 3})).numel(), 0);
}

TEST(Init, SeededAndInPlaceOutsideAutograd) {
  Generator g1(42), g2(42);
  Tensor a = Tensor::empty({64, 32}, TensorOptions().requires_grad());
  Tensor b = Tensor::empty({64, 32});
  Tensor same = xavier_normal_(a, 1.0, &g1);
  xavier_normal_(b, 1.0, &g2);
  EXPECT_TRUE(same.same(a));
  EXPECT_EQ(a.to_vector(), b.to_vector());
  EXPECT_TRUE(a.is_leaf());
  EXPECT_EQ(a.grad_fn(), nullptr);
  // The default generator follows manual_seed.
  manual_seed(9);
  Tensor c = normal_(Tensor::empty({8}));
  manual_seed(9);
  EXPECT_EQ(normal_(Tensor::empty({8})).to_vector(), c.to_vector());
}

}  // namespace
}  // namespace danlu::nn::init
