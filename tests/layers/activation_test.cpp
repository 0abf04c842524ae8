// Activation modules: values against the formulas, options and printing.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>

#include "danlu.h"
#include "layers/activation.h"
#include "tests/support/expect_close.h"

namespace danlu::nn {
namespace {

const std::vector<double> kPoints = {-3.0, -1.0, -0.25, 0.0, 0.5, 2.0};

void expect_matches(Module& m, const std::function<double(double)>& f) {
  std::vector<double> expected;
  for (double x : kPoints) expected.push_back(f(x));
  const Tensor x = Tensor::from_vector(kPoints, {2, 3}, DType::f64);
  const Tensor y = m(x);
  EXPECT_EQ(y.shape(), x.shape());
  // f64 kernels against libm: a few ulps.
  testing::expect_close(y.to_vector(), expected, 1e-14, 1e-13, m.name());
}

double phi(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

TEST(Activation, ValuesMatchTheFormulas) {
  ReLU relu;
  expect_matches(relu, [](double x) { return x > 0 ? x : 0.0; });
  LeakyReLU leaky(LeakyReLUOptions().negative_slope(0.2));
  expect_matches(leaky, [](double x) { return x > 0 ? x : 0.2 * x; });
  ELU elu(ELUOptions().alpha(1.5));
  expect_matches(elu, [](double x) { return x > 0 ? x : 1.5 * std::expm1(x); });
  GELU gelu;
  expect_matches(gelu, [](double x) { return x * phi(x); });
  GELU gelu_tanh(GELUOptions().approximate("tanh"));
  expect_matches(gelu_tanh, [](double x) {
    const double k = std::sqrt(2.0 / std::numbers::pi);
    return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x)));
  });
  SiLU silu;
  expect_matches(silu, [](double x) { return x / (1 + std::exp(-x)); });
  Sigmoid sigmoid;
  expect_matches(sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); });
  Tanh tanh;
  expect_matches(tanh, [](double x) { return std::tanh(x); });
}

TEST(Activation, DescribeAsPyTorch) {
  EXPECT_EQ(ReLU().describe(), "ReLU()");
  EXPECT_EQ(LeakyReLU().describe(), "LeakyReLU(negative_slope=0.01)");
  EXPECT_EQ(ELU().describe(), "ELU(alpha=1.0)");
  EXPECT_EQ(GELU().describe(), "GELU(approximate='none')");
  EXPECT_EQ(GELU(GELUOptions().approximate("tanh")).describe(), "GELU(approximate='tanh')");
  EXPECT_EQ(SiLU().describe(), "SiLU()");
  EXPECT_EQ(Sigmoid().describe(), "Sigmoid()");
  EXPECT_EQ(Tanh().describe(), "Tanh()");
  EXPECT_TRUE(ReLU().state_dict().empty());
}

TEST(Activation, GeluRejectsUnknownApproximations) {
  try {
    GELU(GELUOptions().approximate("erf"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "GELU: approximate must be 'none' or 'tanh', got 'erf'");
  }
}

}  // namespace
}  // namespace danlu::nn
