// Dropout: the training mask and scale, identity in eval, seeding, options.
#include <gtest/gtest.h>

#include <cmath>

#include "danlu.h"
#include "layers/dropout.h"
#include "layers/sequential.h"

namespace danlu::nn {
namespace {

TEST(Dropout, TrainingZeroesAFractionPAndScalesTheRest) {
  Generator gen(5);
  Dropout drop(DropoutOptions(0.3).generator(&gen));
  const int64_t n = 100000;
  const std::vector<double> y = drop(Tensor::ones({n})).to_vector();
  int64_t zeros = 0;
  for (double v : y) {
    if (v == 0.0) ++zeros;
    else EXPECT_FLOAT_EQ(v, 1.0 / 0.7);
  }
  // Binomial(n, 0.3): std sqrt(n * 0.21) ~ 145; 1000 is ~7 std.
  EXPECT_NEAR(static_cast<double>(zeros), 0.3 * n, 1000.0);
}

TEST(Dropout, EvalIsTheIdentity) {
  auto net = std::make_shared<Sequential>(Dropout(0.9));
  net->eval();
  const Tensor x = Tensor::randn({64});
  EXPECT_EQ((*net)(x).to_vector(), x.to_vector());
  net->train();
  EXPECT_NE((*net)(x).to_vector(), x.to_vector());
}

TEST(Dropout, SameSeedSameMask) {
  Generator g1(11), g2(11);
  Dropout a(DropoutOptions().generator(&g1)), b(DropoutOptions().generator(&g2));
  const Tensor x = Tensor::ones({256});
  EXPECT_EQ(a(x).to_vector(), b(x).to_vector());
  EXPECT_NE(a(x).to_vector(), b(Tensor::ones({256}) * 2.0).to_vector());
}

TEST(Dropout, ProbabilityIsChecked) {
  EXPECT_EQ(Dropout(0.0)(Tensor::ones({4})).to_vector(), (std::vector<double>{1, 1, 1, 1}));
  EXPECT_THROW(Dropout(-0.1), Error);
  EXPECT_THROW(Dropout(1.5), Error);
  EXPECT_EQ(Dropout().describe(), "Dropout(p=0.5, inplace=False)");
}

}  // namespace
}  // namespace danlu::nn
