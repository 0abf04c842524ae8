// Dropout's mask: deterministic per (seed, offset), fresh per call, kept at
// rate 1 - p, survivors scaled by 1 / (1 - p), and reused by the backward.
#include <gtest/gtest.h>

#include <cmath>

#include "danlu.h"
#include "kernels/philox.h"
#include "tests/support/error_of.h"

namespace danlu {
namespace {

using testing::error_of;

TEST(Dropout, SameSeedSameMaskAndFreshMaskPerCall) {
  Tensor x = Tensor::ones({64});
  Generator a(7), b(7);
  const std::vector<double> first = dropout(x, 0.5, true, &a).to_vector();
  EXPECT_EQ(dropout(x, 0.5, true, &b).to_vector(), first);
  EXPECT_NE(dropout(x, 0.5, true, &a).to_vector(), first);  // the offset moved on
  Generator other(8);
  EXPECT_NE(dropout(x, 0.5, true, &other).to_vector(), first);
}

TEST(Dropout, MaskIsThePhiloxStream) {
  // Element i survives iff philox_uniform(seed, offset, i) >= p: the rule the
  // CUDA kernel follows too.
  Tensor x = Tensor::ones({37}, DType::f64);
  Generator gen(3);
  gen.reserve(10);  // start at a non-zero offset
  const uint64_t offset = gen.offset();
  const std::vector<double> y = dropout(x, 0.25, true, &gen).to_vector();
  for (int64_t i = 0; i < 37; ++i) {
    const bool keep = kernels::philox_uniform(3, offset, i) >= 0.25f;
    EXPECT_EQ(y[i], keep ? 1.0 / 0.75 : 0.0) << "element " << i;
  }
  EXPECT_EQ(gen.offset(), offset + 10);  // 37 words = 10 Philox blocks
}

TEST(Dropout, RateAndScaleOnALargeTensor) {
  const int64_t n = 200000;
  Tensor x = Tensor::full({n}, 2.0);
  Generator gen(11);
  const double p = 0.3;
  const std::vector<double> y = dropout(x, p, true, &gen).to_vector();
  int64_t dropped = 0;
  for (double v : y) {
    if (v == 0.0) {
      ++dropped;
    } else {
      EXPECT_NEAR(v, 2.0 / (1 - p), 1e-6);
    }
  }
  // Binomial(n, p) has standard deviation sqrt(n p (1 - p)) ~ 205: allow ~5 sigma.
  EXPECT_NEAR(static_cast<double>(dropped) / n, p, 0.005);
}

TEST(Dropout, BackwardReusesTheMask) {
  Tensor x = Tensor::ones({50}, TensorOptions(DType::f64).requires_grad());
  Generator gen(5);
  Tensor y = dropout(x, 0.4, true, &gen);
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector(), y.to_vector());  // d sum(y) / dx = mask / (1 - p) = y here
}

TEST(Dropout, EdgeProbabilitiesAndEval) {
  Tensor x = Tensor::full({10}, 3.0);
  EXPECT_EQ(dropout(x, 1.0, true).to_vector(), std::vector<double>(10, 0.0));
  EXPECT_TRUE(dropout(x, 0.0, true).same(x));
  EXPECT_TRUE(dropout(x, 0.9, false).same(x));
}

TEST(Dropout, ProbabilityOutOfRange) {
  Tensor x = Tensor::ones({4});
  EXPECT_THROW(dropout(x, -0.1, true), Error);
  EXPECT_THROW(dropout(x, std::nan(""), false), Error);
  const std::string message = error_of([&] { dropout(x, 1.5, true); });
  EXPECT_NE(message.find("dropout: probability p must be in [0, 1], got 1.5"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace danlu
