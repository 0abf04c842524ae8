// Finite-difference checks of every activation's backward, with inputs kept
// away from the kinks at 0 (relu, leaky_relu, elu with alpha != 1).
#include <gtest/gtest.h>

#include <cmath>

#include "danlu.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

// Values of both signs with |x| in [0.1, 2): central differences with
// eps = 1e-6 never straddle 0.
Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  std::vector<double> v = random_input(shape, seed, -1.0, 1.0, false).to_vector();
  for (double& x : v) x = std::copysign(0.1 + 1.9 * std::abs(x), x);
  return Tensor::from_vector(v, shape, TensorOptions(DType::f64).requires_grad());
}

TEST(GradcheckActivation, PiecewiseLinearAwayFromKinks) {
  Tensor x = away_from_zero({3, 5}, 1);
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return relu(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return leaky_relu(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return leaky_relu(in[0], 0.3); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return elu(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return elu(in[0], 0.7); }, {x}));
}

TEST(GradcheckActivation, SmoothActivations) {
  Tensor x = random_input({2, 3, 7}, 2, -3.0, 3.0);
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return gelu(in[0]); }, {x}));
  EXPECT_TRUE(
      gradcheck([](const Inputs& in) { return gelu(in[0], GeluApproximate::tanh); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return silu(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return sigmoid(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& in) { return tanh(in[0]); }, {x}));
}

TEST(GradcheckActivation, ComposedChain) {
  // Output-based backwards (sigmoid, tanh, relu) must compose with x-based ones.
  Tensor x = random_input({1, 9}, 3, -2.0, 2.0);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& in) { return relu(tanh(gelu(in[0]) + 0.5) + sigmoid(silu(in[0]))); },
      {x}));
}

}  // namespace
}  // namespace danlu
