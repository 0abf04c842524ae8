// Finite-difference checks of the fused batch_norm_relu (2-d and 4-d input,
// training and eval, with and without affine parameters). Its CPU backward
// is relu's mask followed by batch norm's backward; these check that the
// composition is the derivative of the fused forward.
#include <gtest/gtest.h>

#include <ostream>

#include "danlu.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

struct Case {
  Shape shape;
  bool training;
  bool affine;
};

void PrintTo(const Case& c, std::ostream* out) {
  *out << c.shape << (c.training ? " training" : " eval") << (c.affine ? " affine" : "");
}

class GradcheckBatchNormRelu : public ::testing::TestWithParam<Case> {};

// Random inputs put the pre-activations of both signs a distance of order
// 0.1 from ReLU's kink, far beyond the 1e-6 finite-difference step.
TEST_P(GradcheckBatchNormRelu, InputAndParameters) {
  const Case c = GetParam();
  const int64_t C = c.shape[1];
  Tensor x = random_input(c.shape, 41, -2.0, 2.0);
  Tensor weight = c.affine ? random_input({C}, 42, 0.5, 1.5) : Tensor();
  Tensor bias = c.affine ? random_input({C}, 43, -0.5, 0.5) : Tensor();
  Tensor running_mean = random_input({C}, 44, -0.5, 0.5, false);
  Tensor running_var = random_input({C}, 45, 0.5, 2.0, false);
  const bool training = c.training;
  EXPECT_TRUE(gradcheck(
      [&](const Inputs& in) {
        return batch_norm_relu(in[0], running_mean, running_var, in[1], in[2], training);
      },
      {x, weight, bias}));
}

INSTANTIATE_TEST_SUITE_P(Shapes, GradcheckBatchNormRelu,
                         ::testing::Values(Case{{5, 3}, true, true}, Case{{5, 3}, true, false},
                                           Case{{5, 3}, false, true},
                                           Case{{2, 3, 3, 5}, true, true},
                                           Case{{1, 3, 2, 3}, true, true},
                                           Case{{2, 3, 3, 5}, false, false}));

}  // namespace
}  // namespace danlu
