// A whole network (the Fashion-MNIST CNN as a module with nested
// Sequentials): names, state-dict round trip, finetuning loads, freezing,
// and train/eval switching BatchNorm and Dropout.
#include <gtest/gtest.h>

#include "danlu.h"
#include "layers/layers.h"

namespace danlu::nn {
namespace {

class FashionNet : public Module {
 public:
  explicit FashionNet(int64_t classes = 10) : Module("FashionNet") {
    features = register_module(
        "features", std::make_shared<Sequential>(
                        Conv2d(Conv2dOptions(1, 8, 3).padding(1)), BatchNorm2d(8), ReLU(),
                        MaxPool2d(2), Conv2d(Conv2dOptions(8, 16, 3).padding(1)),
                        BatchNorm2d(16), ReLU(), MaxPool2d(2)));
    classifier = register_module("classifier", std::make_shared<Sequential>(
                                                   Flatten(), Dropout(0.25),
                                                   Linear(16 * 7 * 7, classes)));
  }
  Tensor forward(const Tensor& x) override { return classifier->forward(features->forward(x)); }

  std::shared_ptr<Sequential> features, classifier;
};

Tensor images(uint64_t seed, int64_t n = 4) {
  Generator gen(seed);
  return Tensor::randn({n, 1, 28, 28}, {}, &gen);
}

TEST(Model, NamesAsPyTorch) {
  FashionNet net;
  EXPECT_EQ(net.state_dict().keys(),
            (std::vector<std::string>{
                "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                "features.1.running_mean", "features.1.running_var",
                "features.1.num_batches_tracked", "features.4.weight", "features.4.bias",
                "features.5.weight", "features.5.bias", "features.5.running_mean",
                "features.5.running_var", "features.5.num_batches_tracked", "classifier.2.weight",
                "classifier.2.bias"}));
  EXPECT_EQ(net.named_parameters().size(), 10u);
  EXPECT_EQ(net.named_buffers().keys().front(), "features.1.running_mean");
  EXPECT_EQ(net.named_buffers()["features.5.num_batches_tracked"].dtype(), DType::i64);
  EXPECT_EQ(net.forward(images(1)).shape(), Shape({4, 10}));
}

TEST(Model, DescribeAsPyTorch) {
  FashionNet net;
  EXPECT_EQ(net.describe(),
            "FashionNet(\n"
            "  (features): Sequential(\n"
            "    (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
            "    (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, "
            "track_running_stats=True)\n"
            "    (2): ReLU()\n"
            "    (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
            "    (4): Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
            "    (5): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, "
            "track_running_stats=True)\n"
            "    (6): ReLU()\n"
            "    (7): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
            "  )\n"
            "  (classifier): Sequential(\n"
            "    (0): Flatten(start_dim=1, end_dim=-1)\n"
            "    (1): Dropout(p=0.25, inplace=False)\n"
            "    (2): Linear(in_features=784, out_features=10, bias=True)\n"
            "  )\n"
            ")");
}

TEST(Model, StateDictRoundTripGivesIdenticalOutputs) {
  manual_seed(1);
  FashionNet a;
  for (uint64_t s = 0; s < 3; ++s) a.forward(images(s));  // move the running stats
  const StateDict saved = a.state_dict();
  manual_seed(2);
  FashionNet b;
  a.eval();
  b.eval();
  const Tensor x = images(10);
  EXPECT_NE(a.forward(x).to_vector(), b.forward(x).to_vector());
  EXPECT_TRUE(b.load_state_dict(saved).ok());
  EXPECT_EQ(a.forward(x).to_vector(), b.forward(x).to_vector());
  EXPECT_EQ(b.features->at<BatchNorm2d>(1)->num_batches_tracked.item(), 3.0);
}

TEST(Model, FinetuningLoadKeepsTheBackboneAndReportsTheNewHead) {
  FashionNet pretrained(10), finetuned(5);
  EXPECT_THROW(finetuned.load_state_dict(pretrained.state_dict()), Error);
  const LoadReport report = finetuned.load_state_dict(pretrained.state_dict(), false);
  EXPECT_TRUE(report.missing_keys.empty());
  EXPECT_TRUE(report.unexpected_keys.empty());
  EXPECT_EQ(report.mismatched_keys,
            (std::vector<std::string>{
                "classifier.2.weight: (10, 784) in the dict, (5, 784) in the model",
                "classifier.2.bias: (10) in the dict, (5) in the model"}));
  EXPECT_EQ(finetuned.features->at<Conv2d>(0)->weight.to_vector(),
            pretrained.features->at<Conv2d>(0)->weight.to_vector());
}

TEST(Model, FrozenBackboneGetsNoGradients) {
  FashionNet net;
  net.features->requires_grad_(false);
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{0, 3, 9, 1}, {4});
  cross_entropy(net.forward(images(3)), labels).backward();
  for (const auto& [name, p] : net.named_parameters()) {
    if (name.rfind("features.", 0) == 0)
      EXPECT_FALSE(p.grad().defined()) << name;
    else
      EXPECT_TRUE(p.grad().defined()) << name;
  }
}

TEST(Model, EvalMakesOutputsIndependentOfTheBatch) {
  FashionNet net;
  const Tensor batch = images(4, 6);
  const std::vector<double> values = batch.to_vector();
  const Tensor first = Tensor::from_vector(
      std::vector<double>(values.begin(), values.begin() + 784), {1, 1, 28, 28});
  // Training: BatchNorm uses batch statistics and Dropout draws a mask, so
  // the first sample's logits change with the batch it comes in.
  const std::vector<double> alone = net.forward(first).to_vector();
  const std::vector<double> in_batch = net.forward(batch).to_vector();
  EXPECT_NE(alone, std::vector<double>(in_batch.begin(), in_batch.begin() + 10));
  net.eval();
  const double tracked = net.features->at<BatchNorm2d>(1)->num_batches_tracked.item();
  const std::vector<double> alone_eval = net.forward(first).to_vector();
  const std::vector<double> batch_eval = net.forward(batch).to_vector();
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(alone_eval[i], batch_eval[i], 1e-5);
  EXPECT_EQ(net.forward(first).to_vector(), alone_eval);  // deterministic: no dropout
  EXPECT_EQ(net.features->at<BatchNorm2d>(1)->num_batches_tracked.item(), tracked);
}

TEST(Model, RunsInDoublePrecision) {
  FashionNet net;
  net.to(DType::f64);
  EXPECT_EQ(net.forward(images(5).to(DType::f64)).dtype(), DType::f64);
}

}  // namespace
}  // namespace danlu::nn
