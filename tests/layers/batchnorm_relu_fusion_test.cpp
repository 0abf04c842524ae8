// Sequential runs a BatchNorm directly followed by a ReLU as one
// batch_norm_relu op, with exactly the outputs, gradients and running
// statistics of the two layers run one after the other.
#include <gtest/gtest.h>

#include <memory>

#include "danlu.h"
#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/flatten.h"
#include "layers/sequential.h"

namespace danlu::nn {
namespace {

TEST(BatchNormReluFusion, SequentialFusesTheAdjacentPair) {
  Sequential fused(BatchNorm2d(3), ReLU());
  BatchNorm2d bn(3);
  ReLU relu;
  Generator gen(5);
  const Tensor input = Tensor::randn({4, 3, 5, 5}, {}, &gen);
  const Tensor r = Tensor::randn({4, 3, 5, 5}, {}, &gen);  // a random projection of the output
  Tensor x_fused = input.clone().set_requires_grad(), x_apart = input.clone().set_requires_grad();

  for (int step = 0; step < 2; ++step) {  // the second step starts from updated running stats
    Tensor y_fused = fused.forward(x_fused);
    Tensor y_apart = relu.forward(bn.forward(x_apart));
    ASSERT_NE(y_fused.grad_fn(), nullptr);
    EXPECT_EQ(y_fused.grad_fn()->name, "batch_norm_relu");
    EXPECT_EQ(y_fused.to_vector(), y_apart.to_vector());  // the same kernels: the same bits
    sum(y_fused * r).backward();
    sum(y_apart * r).backward();
  }
  const auto fused_bn = fused.at<BatchNorm2d>(0);
  EXPECT_EQ(x_fused.grad().to_vector(), x_apart.grad().to_vector());
  EXPECT_EQ(fused_bn->weight.grad().to_vector(), bn.weight.grad().to_vector());
  EXPECT_EQ(fused_bn->bias.grad().to_vector(), bn.bias.grad().to_vector());
  EXPECT_EQ(fused_bn->running_mean.to_vector(), bn.running_mean.to_vector());
  EXPECT_EQ(fused_bn->running_var.to_vector(), bn.running_var.to_vector());
}

TEST(BatchNormReluFusion, OnlyABatchNormRightBeforeAReLU) {
  const Tensor x = Tensor::randn({2, 3, 4, 4});
  Sequential relu_first(ReLU(), BatchNorm2d(3));
  EXPECT_EQ(relu_first.forward(x).grad_fn()->name, "batch_norm");
  Sequential apart(BatchNorm2d(3), Flatten(), ReLU());
  EXPECT_EQ(apart.forward(x).grad_fn()->name, "relu");
  Sequential alone(BatchNorm2d(3));
  EXPECT_EQ(alone.forward(x).grad_fn()->name, "batch_norm");
}

TEST(BatchNormReluFusion, EvalModeFusesToo) {
  Sequential fused(BatchNorm2d(3), ReLU());
  fused.eval();
  Tensor x = Tensor::randn({2, 3, 4, 4}).set_requires_grad();
  Tensor y = fused.forward(x);
  EXPECT_EQ(y.grad_fn()->name, "batch_norm_relu");
  const auto bn = fused.at<BatchNorm2d>(0);
  EXPECT_EQ(y.to_vector(), relu(batch_norm(x, bn->running_mean, bn->running_var, bn->weight,
                                           bn->bias, false))
                               .to_vector());
}

}  // namespace
}  // namespace danlu::nn
