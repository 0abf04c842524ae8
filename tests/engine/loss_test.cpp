// cross_entropy and mse_loss on hand-checkable cases: values, the fused
// gradient, label smoothing as PyTorch defines it, and the errors.
#include <gtest/gtest.h>

#include <cmath>

#include "danlu.h"
#include "tests/support/error_of.h"
#include "tests/support/expect_close.h"

namespace danlu {
namespace {

using testing::expect_close;

using testing::error_of;

TEST(CrossEntropy, UniformLogitsGiveLogC) {
  Tensor logits = Tensor::zeros({3, 4}, TensorOptions(DType::f64).requires_grad());
  Tensor target = Tensor::from_vector(std::vector<int64_t>{0, 3, 1}, {3});
  Tensor loss = cross_entropy(logits, target);
  EXPECT_NEAR(loss.item(), std::log(4.0), 1e-15);
  loss.backward();
  // d(mean loss)/d logits = (softmax - one_hot) / N = (1/4 - [c == t]) / 3.
  std::vector<double> expected(12, 0.25 / 3);
  for (int n : {0, 1, 2}) expected[n * 4 + std::vector<int>{0, 3, 1}[n]] = -0.75 / 3;
  expect_close(logits.grad().to_vector(), expected, 1e-15, 1e-14, "cross_entropy grad");
}

TEST(CrossEntropy, LabelSmoothingMatchesPyTorchDefinition) {
  // logits [1, 2, 3], target 0, eps 0.1: lse = 3 + log(1 + e^-1 + e^-2),
  // loss = 0.9 * (lse - 1) + 0.1 * (lse - mean(1, 2, 3)).
  Tensor logits = Tensor::from_vector(std::vector<double>{1, 2, 3}, {1, 3}, DType::f64);
  Tensor target = Tensor::from_vector(std::vector<int64_t>{0}, {1});
  const double lse = 3 + std::log(1 + std::exp(-1.0) + std::exp(-2.0));
  const double expected = 0.9 * (lse - 1) + 0.1 * (lse - 2);
  CrossEntropyOptions options;
  options.label_smoothing = 0.1;
  EXPECT_NEAR(cross_entropy(logits, target, options).item(), expected, 1e-14);
  EXPECT_NEAR(expected, 2.30760596444438, 1e-12);  // the same number written out
}

TEST(CrossEntropy, Reductions) {
  Tensor logits =
      Tensor::from_vector(std::vector<float>{0.5f, -1.f, 2.f, 0.f, 0.f, 0.f}, {2, 3});
  Tensor target = Tensor::from_vector(std::vector<int64_t>{2, 1}, {2});
  CrossEntropyOptions none;
  none.reduction = Reduction::none;
  std::vector<double> per_row = cross_entropy(logits, target, none).to_vector();
  ASSERT_EQ(per_row.size(), 2u);
  const double row0 = std::log(std::exp(0.5) + std::exp(-1.0) + std::exp(2.0)) - 2.0;
  // f32 logits: the loss carries f32 rounding, ~1e-7 relative.
  expect_close(per_row, {row0, std::log(3.0)}, 1e-6, 1e-6, "reduction none");
  CrossEntropyOptions sum_options;
  sum_options.reduction = Reduction::sum;
  EXPECT_NEAR(cross_entropy(logits, target, sum_options).item(), row0 + std::log(3.0), 1e-6);
  EXPECT_NEAR(cross_entropy(logits, target).item(), (row0 + std::log(3.0)) / 2, 1e-6);
}

TEST(CrossEntropy, FloatBackwardMatchesDouble) {
  Tensor logits = Tensor::randn({4, 6}, DType::f64);
  Tensor target = Tensor::from_vector(std::vector<int64_t>{5, 0, 2, 2}, {4});
  CrossEntropyOptions options;
  options.label_smoothing = 0.1;
  options.reduction = Reduction::none;
  std::vector<double> grads[2];
  for (DType dtype : {DType::f64, DType::f32}) {
    Tensor x = logits.to(dtype).set_requires_grad();
    Tensor loss = cross_entropy(x, target, options);
    loss.backward(Tensor::from_vector(std::vector<double>{1, -2, 0.5, 3}, {4}, dtype));
    grads[dtype == DType::f32] = x.grad().to_vector();
  }
  expect_close(grads[1], grads[0], 1e-6, 1e-5, "f32 cross_entropy gradient");
}

TEST(CrossEntropy, ErrorsNameTheProblem) {
  Tensor logits = Tensor::zeros({3, 5});
  Tensor bad = Tensor::from_vector(std::vector<int64_t>{0, 7, 1}, {3});
  const std::string message = error_of([&] { cross_entropy(logits, bad); });
  EXPECT_NE(message.find("target[1] = 7"), std::string::npos) << message;
  EXPECT_NE(message.find("5 classes"), std::string::npos) << message;
  Tensor negative = Tensor::from_vector(std::vector<int64_t>{0, 1, -1}, {3});
  EXPECT_THROW(cross_entropy(logits, negative), Error);
  Tensor float_target = Tensor::zeros({3});
  EXPECT_THROW(cross_entropy(logits, float_target), Error);
  Tensor short_target = Tensor::from_vector(std::vector<int64_t>{0, 1}, {2});
  EXPECT_THROW(cross_entropy(logits, short_target), Error);
  EXPECT_THROW(cross_entropy(Tensor::zeros({15}), bad), Error);
  CrossEntropyOptions options;
  options.label_smoothing = 1.5;
  Tensor good = Tensor::from_vector(std::vector<int64_t>{0, 1, 2}, {3});
  EXPECT_THROW(cross_entropy(logits, good, options), Error);
}

TEST(MseLoss, ValuesForEachReduction) {
  Tensor input = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}, DType::f64);
  Tensor target = Tensor::from_vector(std::vector<double>{0, 0, 1}, {3}, DType::f64);
  EXPECT_EQ(mse_loss(input, target, Reduction::none).to_vector(), (std::vector<double>{1, 4, 4}));
  EXPECT_DOUBLE_EQ(mse_loss(input, target, Reduction::sum).item(), 9.0);
  EXPECT_DOUBLE_EQ(mse_loss(input, target).item(), 3.0);
}

TEST(MseLoss, ShapeMismatchNamesBothShapes) {
  const std::string message =
      error_of([] { mse_loss(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})); });
  EXPECT_NE(message.find("mse_loss"), std::string::npos) << message;
  EXPECT_NE(message.find("(2, 3)"), std::string::npos) << message;
  EXPECT_NE(message.find("(3, 2)"), std::string::npos) << message;
}

}  // namespace
}  // namespace danlu
