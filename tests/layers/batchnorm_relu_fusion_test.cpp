// The BatchNorm + ReLU fusion pass (layers/batchnorm_relu.h): a fused
// Sequential runs each BatchNorm directly followed by a ReLU as one
// batch_norm_relu op, with exactly the outputs, gradients and running
// statistics of the two layers run one after the other; without the pass
// each child runs on its own; the shipped and built models are fused; the
// module tree (names, state dict, printing) is untouched.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "danlu.h"
#include "layers/builder.h"
#include "layers/layers.h"
#include "layers/models.h"

namespace danlu::nn {
namespace {

// How many nodes named `op` the autograd graph behind y holds.
int count_ops(const Tensor& y, const std::string& op) {
  std::set<const Node*> seen;
  std::vector<const Node*> todo;
  if (y.grad_fn()) todo.push_back(y.grad_fn().get());
  int found = 0;
  while (!todo.empty()) {
    const Node* node = todo.back();
    todo.pop_back();
    if (!seen.insert(node).second) continue;
    found += node->name == op;
    for (const Tensor& in : node->inputs)
      if (in.defined() && in.grad_fn()) todo.push_back(in.grad_fn().get());
  }
  return found;
}

TEST(BatchNormReluFusion, FusedPairMatchesTheLayersRunApart) {
  Sequential fused(BatchNorm2d(3), ReLU());
  fuse_batchnorm_relu(fused);
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
  EXPECT_EQ(fused_bn->num_batches_tracked.item(), 2);
}

TEST(BatchNormReluFusion, WithoutThePassEachChildRunsOnItsOwn) {
  Sequential apart(BatchNorm2d(3), ReLU());
  const Tensor y = apart.forward(Tensor::randn({2, 3, 4, 4}).set_requires_grad());
  EXPECT_EQ(y.grad_fn()->name, "relu");
  EXPECT_EQ(count_ops(y, "batch_norm"), 1);
  EXPECT_TRUE(apart.runs_alone(0));
  EXPECT_TRUE(apart.runs_alone(1));
}

TEST(BatchNormReluFusion, OnlyABatchNormRightBeforeAReLU) {
  const Tensor x = Tensor::randn({2, 3, 4, 4});
  Sequential relu_first(ReLU(), BatchNorm2d(3));
  fuse_batchnorm_relu(relu_first);
  EXPECT_EQ(relu_first.forward(x).grad_fn()->name, "batch_norm");
  Sequential apart(BatchNorm2d(3), Flatten(), ReLU());
  fuse_batchnorm_relu(apart);
  EXPECT_EQ(apart.forward(x).grad_fn()->name, "relu");
  Sequential alone(BatchNorm2d(3));
  fuse_batchnorm_relu(alone);
  EXPECT_EQ(alone.forward(x).grad_fn()->name, "batch_norm");
  Sequential leaky(BatchNorm2d(3), LeakyReLU());
  fuse_batchnorm_relu(leaky);
  EXPECT_EQ(leaky.forward(x).grad_fn()->name, "leaky_relu");
}

TEST(BatchNormReluFusion, EvalModeFusesToo) {
  Sequential fused(BatchNorm2d(3), ReLU());
  fuse_batchnorm_relu(fused);
  fused.eval();
  Tensor x = Tensor::randn({2, 3, 4, 4}).set_requires_grad();
  Tensor y = fused.forward(x);
  EXPECT_EQ(y.grad_fn()->name, "batch_norm_relu");
  const auto bn = fused.at<BatchNorm2d>(0);
  EXPECT_EQ(y.to_vector(), relu(batch_norm(x, bn->running_mean, bn->running_var, bn->weight,
                                           bn->bias, false))
                               .to_vector());
}

// fashion_cnn(), resnet20() and build_model() hand out fused models: every
// BatchNorm + ReLU pair of their Sequentials runs as batch_norm_relu (a
// BasicBlock fuses its bn1 + relu itself), and no other ReLU runs.
TEST(BatchNormReluFusion, ShippedAndBuiltModelsAreFused) {
  const Tensor images = Tensor::randn({2, 1, 28, 28});
  const Tensor y_cnn = (*fashion_cnn())(images);
  EXPECT_EQ(count_ops(y_cnn, "batch_norm_relu"), 2);
  EXPECT_EQ(count_ops(y_cnn, "relu"), 0);

  const Tensor y_resnet = (*resnet20(10, 1))(images);
  EXPECT_EQ(count_ops(y_resnet, "batch_norm_relu"), 1 + 9);  // the stem, then each block's bn1
  EXPECT_EQ(count_ops(y_resnet, "relu"), 9);                 // each block's residual sum

  const auto layers = nlohmann::json::parse(R"([
    {"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
    {"type": "BatchNorm2d", "num_features": 4}, {"type": "ReLU"},
    {"type": "Flatten"}, {"type": "Linear", "in_features": 2704, "out_features": 3}])");
  auto built = build_model({{"layers", layers}, {"input_shape", {1, 28, 28}}});
  EXPECT_FALSE(built->runs_alone(1));
  EXPECT_FALSE(built->runs_alone(2));
  const Tensor y_built = (*built)(images);
  EXPECT_EQ(count_ops(y_built, "batch_norm_relu"), 1);
  EXPECT_EQ(count_ops(y_built, "relu"), 0);
}

// The pass changes what forward() runs, nothing else: the printed model,
// state-dict keys and values, parameters and children are as before, and a
// second run changes nothing.
TEST(BatchNormReluFusion, TheModuleTreeIsUntouched) {
  auto net = std::make_shared<Sequential>(Conv2d(Conv2dOptions(1, 4, 3)), BatchNorm2d(4), ReLU(),
                                          MaxPool2d(2), Flatten());
  const std::string printed = net->describe();
  const std::vector<std::string> keys = net->state_dict().keys();
  const size_t params = net->parameters().size(), children = net->size();
  fuse_batchnorm_relu(*net);
  fuse_batchnorm_relu(*net);
  EXPECT_EQ(net->describe(), printed);
  EXPECT_EQ(net->state_dict().keys(), keys);
  EXPECT_EQ(net->parameters().size(), params);
  EXPECT_EQ(net->size(), children);
  EXPECT_EQ(net->at<ReLU>(2)->name(), "ReLU");
  EXPECT_EQ(count_ops((*net)(Tensor::randn({2, 1, 8, 8})), "batch_norm_relu"), 1);
}

TEST(BatchNormReluFusion, ChildrenAppendedLaterRunAloneUntilThePassRunsAgain) {
  Sequential net(BatchNorm2d(3), ReLU());
  fuse_batchnorm_relu(net);
  net.push_back(BatchNorm2d(3));
  net.push_back(ReLU());
  const Tensor x = Tensor::randn({2, 3, 4, 4});
  EXPECT_EQ(count_ops(net.forward(x), "batch_norm_relu"), 1);
  fuse_batchnorm_relu(net);
  EXPECT_EQ(count_ops(net.forward(x), "batch_norm_relu"), 2);
}

// While an OutputTap is installed every child runs on its own, so each
// layer's output is seen; the values are those of the fused run.
TEST(BatchNormReluFusion, AnOutputTapSeesEveryChild) {
  Sequential net(BatchNorm2d(3), ReLU());
  fuse_batchnorm_relu(net);
  net.eval();
  const Tensor x = Tensor::randn({2, 3, 4, 4});
  std::vector<std::string> seen;
  Tensor tapped;
  {
    const OutputTap tap([&](const Module& child, const Tensor&) { seen.push_back(child.name()); });
    tapped = net.forward(x);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"BatchNorm2d", "ReLU"}));
  EXPECT_EQ(tapped.to_vector(), net.forward(x).to_vector());
}

TEST(BatchNormReluFusion, FuseRejectsOverlapsAndRangesOutsideTheChildren) {
  Sequential net(BatchNorm2d(3), ReLU(), ReLU());
  fuse_batchnorm_relu(net);
  EXPECT_FALSE(net.runs_alone(0));
  EXPECT_TRUE(net.runs_alone(2));
  const auto message = [&](size_t first, size_t count) -> std::string {
    try {
      net.fuse(first, count, std::make_shared<ReLU>());
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message(1, 2),
            "Sequential::fuse: child 1 is fused already; fuse each child at most once");
  EXPECT_EQ(message(2, 2), "Sequential::fuse: children [2, 4) are out of range for 3 children");
  EXPECT_EQ(message(2, 1), "Sequential::fuse: a fused run covers at least 2 children, got 1");
  EXPECT_TRUE(net.runs_alone(2));
}

}  // namespace
}  // namespace danlu::nn
