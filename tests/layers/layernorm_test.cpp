// LayerNorm: normalisation over the trailing dims, parameters, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "danlu.h"
#include "layers/layernorm.h"
#include "tests/support/expect_close.h"

namespace danlu::nn {
namespace {

TEST(LayerNorm, NormalisesEachSampleOverTheTrailingDims) {
  LayerNorm ln(std::vector<int64_t>{3, 4});
  ln.to(DType::f64);
  Generator gen(1);
  const Tensor x = Tensor::randn({5, 3, 4}, DType::f64, &gen) * 3.0 + 1.0;
  const std::vector<double> y = ln(x).to_vector();
  for (int n = 0; n < 5; ++n) {
    double mean = 0, var = 0;
    for (int i = 0; i < 12; ++i) mean += y[n * 12 + i] / 12;
    for (int i = 0; i < 12; ++i) var += std::pow(y[n * 12 + i] - mean, 2) / 12;
    EXPECT_NEAR(mean, 0.0, 1e-12);
    EXPECT_NEAR(var, 1.0, 1e-5);  // var / (var + eps) with var ~ 9
  }
}

TEST(LayerNorm, ParametersAndDescribe) {
  LayerNorm ln(std::vector<int64_t>{10});
  EXPECT_EQ(ln.named_parameters().keys(), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(ln.weight.shape(), Shape({10}));
  EXPECT_EQ(ln.weight.to_vector(), std::vector<double>(10, 1.0));
  EXPECT_EQ(ln.bias.to_vector(), std::vector<double>(10, 0.0));
  EXPECT_EQ(ln.describe(), "LayerNorm((10,), eps=1e-05, elementwise_affine=True)");
  LayerNorm plain(LayerNormOptions({2, 3}).elementwise_affine(false).eps(1e-6));
  EXPECT_TRUE(plain.named_parameters().empty());
  EXPECT_EQ(plain.describe(), "LayerNorm((2, 3), eps=1e-06, elementwise_affine=False)");
  LayerNorm no_bias(LayerNormOptions({4}).bias(false));
  EXPECT_EQ(no_bias.named_parameters().keys(), std::vector<std::string>{"weight"});
}

TEST(LayerNorm, ErrorsNameTheLayer) {
  EXPECT_THROW(LayerNorm(std::vector<int64_t>{}), Error);
  EXPECT_THROW(LayerNorm(std::vector<int64_t>{0}), Error);
  LayerNorm ln(std::vector<int64_t>{3, 4});
  try {
    ln(Tensor::zeros({2, 4, 3}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "LayerNorm: expected an input ending in (3, 4), got (2, 4, 3)");
  }
  EXPECT_THROW(ln(Tensor::zeros({4})), Error);
}

}  // namespace
}  // namespace danlu::nn
