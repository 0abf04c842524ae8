// The tape: recording, accumulation over shared subexpressions, NoGradGuard,
// detach, leaf rules and the errors backward() gives.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

TEST(Autograd, ChainRuleThroughSharedInputs) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}, DType::f64);
  x.set_requires_grad(true);
  Tensor y = sum(x * x + x * 3.0);  // dy/dx = 2x + 3
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{5, 7, 9}));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = Tensor::ones({2}, TensorOptions(DType::f64).requires_grad());
  sum(x * 2.0).backward();
  sum(x * 2.0).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{4, 4}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = Tensor::ones({2}, TensorOptions().requires_grad());
  NoGradGuard guard;
  Tensor y = x * 2.0;
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Autograd, DetachCutsTheGraph) {
  Tensor x = Tensor::ones({2}, TensorOptions().requires_grad());
  Tensor y = (x * 2.0).detach();
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.is_leaf());
}

TEST(Autograd, FrozenInputsGetNoGradient) {
  Tensor w = Tensor::ones({2}, TensorOptions(DType::f64).requires_grad());
  Tensor frozen = Tensor::ones({2}, DType::f64);
  sum(w * frozen).backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(frozen.grad().defined());
}

TEST(Autograd, ExplicitGradientForNonScalar) {
  Tensor x = Tensor::ones({2, 2}, TensorOptions(DType::f64).requires_grad());
  Tensor y = x * 3.0;
  y.backward(Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, DType::f64));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{3, 6, 9, 12}));
}

TEST(Autograd, BackwardErrorsAreClear) {
  Tensor x = Tensor::ones({2}, TensorOptions().requires_grad());
  EXPECT_THROW((x * 2.0).backward(), Error);  // non-scalar without gradient
  Tensor c = Tensor::ones({1});
  EXPECT_THROW(c.backward(), Error);  // nothing requires grad
  Tensor y = x * 2.0;
  EXPECT_THROW(y.set_requires_grad(false), Error);  // not a leaf
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Tensor x = Tensor::ones({1}, TensorOptions(DType::f64).requires_grad());
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y + 1.0;
  y.backward();
  EXPECT_EQ(x.grad().item(), 1.0);
}

}  // namespace
}  // namespace danlu
