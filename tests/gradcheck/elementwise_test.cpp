// Finite-difference checks of the elementwise, reduction and shape ops,
// including every broadcasting pattern the layers use.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

TEST(GradcheckElementwise, BinaryOpsSameShape) {
  Tensor a = random_input({3, 4}, 1), b = random_input({3, 4}, 2, 0.5, 2.0);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0] + x[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0] - x[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0] * x[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0] / x[1]; }, {a, b}));
}

TEST(GradcheckElementwise, Broadcasting) {
  Tensor a = random_input({2, 3, 4, 5}, 3);
  Tensor bias = random_input({1, 3, 1, 1}, 4, 0.5, 2.0);
  Tensor row = random_input({5}, 5, 0.5, 2.0);
  Tensor scalar = random_input({}, 6, 0.5, 2.0);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0] + x[1]; }, {a, bias}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0] * x[1]; }, {a, row}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[1] / x[0]; }, {scalar, row}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0] - x[1]; }, {a, scalar}));
}

TEST(GradcheckElementwise, BroadcastTo) {
  Tensor bias = random_input({3, 1}, 11);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return broadcast_to(x[0], {2, 3, 4}); }, {bias}));
  EXPECT_THROW(broadcast_to(bias, {2, 4}), Error);
}

TEST(GradcheckElementwise, ScalarOps) {
  Tensor a = random_input({7}, 7);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return 3.0 - x[0] * 2.5 + 1.0; }, {a}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return -x[0] / 4.0; }, {a}));
}

TEST(GradcheckReduce, SumAndMeanOverDims) {
  Tensor a = random_input({2, 3, 4}, 8);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return sum(x[0]); }, {a}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return mean(x[0]); }, {a}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return sum(x[0], {0, 2}); }, {a}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return mean(x[0], {-1}, true); }, {a}));
}

TEST(GradcheckShape, ReshapePermuteTransposeConcat) {
  Tensor a = random_input({2, 3, 4}, 9), b = random_input({2, 5, 4}, 10);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0].reshape({4, -1}) * 2.0; }, {a}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0].flatten(1); }, {a}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0].permute({2, 0, 1}); }, {a}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return x[0].transpose(0, 2); }, {a}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return concat({x[0], x[1]}, 1); }, {a, b}));
}

}  // namespace
}  // namespace danlu
