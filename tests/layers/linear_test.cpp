// Linear: PyTorch's default init, the forward formula, options and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "danlu.h"
#include "layers/linear.h"
#include "tests/support/expect_close.h"

namespace danlu::nn {
namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::abs(v));
  return m;
}

double rms(const Tensor& t) {
  double s = 0;
  for (double v : t.to_vector()) s += v * v;
  return std::sqrt(s / static_cast<double>(t.numel()));
}

TEST(Linear, DefaultInitIsPyTorchs) {
  manual_seed(0);
  Linear fc(400, 300);
  // kaiming_uniform_(a = sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  const double bound = 1.0 / std::sqrt(400.0);
  EXPECT_EQ(fc.weight.shape(), Shape({300, 400}));
  EXPECT_LE(max_abs(fc.weight), bound);
  EXPECT_GT(max_abs(fc.weight), 0.999 * bound);
  // 120000 uniform samples: the rms is within ~0.3% of bound/sqrt(3).
  EXPECT_NEAR(rms(fc.weight), bound / std::sqrt(3.0), 0.01 * bound);
  EXPECT_EQ(fc.bias.shape(), Shape({300}));
  EXPECT_LE(max_abs(fc.bias), bound);
  EXPECT_GT(max_abs(fc.bias), 0.9 * bound);
  EXPECT_TRUE(fc.weight.requires_grad());
}

TEST(Linear, ResetParametersIsSeeded) {
  Linear a(5, 4), b(5, 4);
  Generator g1(3), g2(3);
  a.reset_parameters(&g1);
  b.reset_parameters(&g2);
  EXPECT_EQ(a.weight.to_vector(), b.weight.to_vector());
  EXPECT_EQ(a.bias.to_vector(), b.bias.to_vector());
}

TEST(Linear, ForwardIsXWTransposedPlusB) {
  Linear fc(3, 2);
  fc.to(DType::f64);
  fc.weight.copy_(Tensor::from_vector(std::vector<double>{1, 2, 3, -1, 0, 1}, {2, 3}, DType::f64));
  fc.bias.copy_(Tensor::from_vector(std::vector<double>{0.5, -0.5}, {2}, DType::f64));
  Tensor x = Tensor::from_vector(std::vector<double>{1, 1, 1, 2, 0, -1}, {2, 3}, DType::f64);
  // Row 1: (6 + 0.5, 0 - 0.5); row 2: (2 - 3 + 0.5, -2 - 1 - 0.5).
  testing::expect_close(fc(x).to_vector(), {6.5, -0.5, -0.5, -3.5}, 1e-12, 0, "linear");
  EXPECT_EQ(fc(Tensor::zeros({4, 5, 3}, DType::f64)).shape(), Shape({4, 5, 2}));
}

TEST(Linear, WithoutBias) {
  Linear fc(LinearOptions(3, 2).bias(false));
  EXPECT_FALSE(fc.bias.defined());
  EXPECT_EQ(fc.named_parameters().keys(), std::vector<std::string>{"weight"});
  EXPECT_EQ(fc.describe(), "Linear(in_features=3, out_features=2, bias=False)");
  EXPECT_EQ(fc(Tensor::zeros({1, 3})).to_vector(), (std::vector<double>{0, 0}));
}

TEST(Linear, ErrorsNameTheLayer) {
  EXPECT_THROW(Linear(0, 2), Error);
  Linear fc(3, 2);
  try {
    fc(Tensor::zeros({2, 4}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "Linear: expected input (..., 3), got (2, 4)");
  }
}

}  // namespace
}  // namespace danlu::nn
