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

// GradientReadyHook reports each leaf once, after its last use has added its
// part, with the complete gradient; leaves that got no gradient are not
// reported, and nothing is reported once the hook is gone.
TEST(Autograd, GradientReadyHookReportsEachCompleteGradientOnce) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2}, {2}, DType::f64);
  Tensor b = Tensor::from_vector(std::vector<double>{3, 4}, {2}, DType::f64);
  Tensor unused = Tensor::ones({2}, DType::f64);
  for (Tensor* t : {&a, &b, &unused}) t->set_requires_grad();
  const Tensor y = sum(a * b + a * a);  // a used three times, b once
  std::vector<std::pair<const TensorImpl*, std::vector<double>>> seen;
  {
    const GradientReadyHook hook([&](const Tensor& leaf) {
      seen.emplace_back(leaf.impl().get(), leaf.grad().to_vector());
    });
    y.backward();
  }
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& [leaf, grad] : seen) {
    if (leaf == a.impl().get()) EXPECT_EQ(grad, (std::vector<double>{5, 8}));  // b + 2a
    else EXPECT_EQ(leaf, b.impl().get());
  }
  EXPECT_NE(seen[0].first, seen[1].first);
  a.zero_grad();
  sum(a).backward();
  EXPECT_EQ(seen.size(), 2u);
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
