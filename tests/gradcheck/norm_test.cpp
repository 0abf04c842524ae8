// Finite-difference checks of batch_norm (2-d and 4-d input, training and
// eval, with and without affine parameters) and layer_norm (1 and 2
// normalised dims, with and without affine parameters).
#include <gtest/gtest.h>

#include <ostream>

#include "danlu.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

struct BatchNormCase {
  Shape shape;
  bool training;
  bool affine;
};

void PrintTo(const BatchNormCase& c, std::ostream* out) {
  *out << c.shape << (c.training ? " training" : " eval") << (c.affine ? " affine" : "");
}

class GradcheckBatchNorm : public ::testing::TestWithParam<BatchNormCase> {};

TEST_P(GradcheckBatchNorm, InputAndParameters) {
  const BatchNormCase c = GetParam();
  const int64_t C = c.shape[1];
  Tensor x = random_input(c.shape, 1, -2.0, 2.0);
  Tensor weight = c.affine ? random_input({C}, 2, 0.5, 1.5) : Tensor();
  Tensor bias = c.affine ? random_input({C}, 3) : Tensor();
  // Running statistics away from (0, 1) so eval mode is a non-trivial affine map.
  Tensor running_mean = random_input({C}, 4, -0.5, 0.5, false);
  Tensor running_var = random_input({C}, 5, 0.5, 2.0, false);
  const bool training = c.training;
  EXPECT_TRUE(gradcheck(
      [&](const Inputs& in) {
        return batch_norm(in[0], running_mean, running_var, in[1], in[2], training);
      },
      {x, weight, bias}));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GradcheckBatchNorm,
    ::testing::Values(BatchNormCase{{5, 3}, true, true}, BatchNormCase{{5, 3}, true, false},
                      BatchNormCase{{5, 3}, false, true}, BatchNormCase{{2, 3, 3, 5}, true, true},
                      BatchNormCase{{2, 3, 3, 5}, true, false},
                      BatchNormCase{{1, 3, 2, 3}, true, true},  // batch 1: stats over H * W
                      BatchNormCase{{1, 3, 2, 3}, false, true},
                      BatchNormCase{{2, 3, 3, 5}, false, false}));

TEST(GradcheckBatchNormNoRunningStats, TrainingOnBatchStatistics) {
  Tensor x = random_input({4, 2, 3}, 6, -2.0, 2.0);
  Tensor weight = random_input({2}, 7, 0.5, 1.5), bias = random_input({2}, 8);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true); },
      {x, weight, bias}));
}

TEST(GradcheckLayerNorm, OneTrailingDim) {
  Tensor x = random_input({3, 7}, 9, -2.0, 2.0);
  Tensor weight = random_input({7}, 10, 0.5, 1.5), bias = random_input({7}, 11);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& in) { return layer_norm(in[0], {7}, in[1], in[2]); }, {x, weight, bias}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return layer_norm(in[0], {7}); }, {x}));
}

TEST(GradcheckLayerNorm, TwoTrailingDims) {
  Tensor x = random_input({2, 3, 3, 5}, 12, -2.0, 2.0);
  Tensor weight = random_input({3, 5}, 13, 0.5, 1.5), bias = random_input({3, 5}, 14);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& in) { return layer_norm(in[0], {3, 5}, in[1], in[2], 1e-3); },
      {x, weight, bias}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return layer_norm(in[0], {3, 5}); }, {x}));
}

TEST(GradcheckLayerNorm, SingleRow) {
  Tensor x = random_input({5}, 15, -2.0, 2.0);
  Tensor weight = random_input({5}, 16, 0.5, 1.5);
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return layer_norm(in[0], {5}, in[1]); },
                        {x, weight}));
}

}  // namespace
}  // namespace danlu
