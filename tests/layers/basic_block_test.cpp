// BasicBlock: torchvision's parameter names, output shapes and the shortcut.
#include <gtest/gtest.h>

#include "danlu.h"
#include "layers/basic_block.h"
#include "tests/support/expect_close.h"

namespace danlu::nn {
namespace {

std::vector<std::string> bn_keys(const std::string& p) {
  return {p + ".weight", p + ".bias", p + ".running_mean", p + ".running_var",
          p + ".num_batches_tracked"};
}

TEST(BasicBlock, NamesAsTorchvision) {
  BasicBlock identity(BasicBlockOptions(64, 64));
  std::vector<std::string> expected{"conv1.weight"};
  for (const auto& k : bn_keys("bn1")) expected.push_back(k);
  expected.push_back("conv2.weight");
  for (const auto& k : bn_keys("bn2")) expected.push_back(k);
  EXPECT_EQ(identity.state_dict().keys(), expected);
  EXPECT_EQ(identity.downsample, nullptr);

  BasicBlock down(BasicBlockOptions(64, 128).stride(2));
  expected.push_back("downsample.0.weight");
  for (const auto& k : bn_keys("downsample.1")) expected.push_back(k);
  EXPECT_EQ(down.state_dict().keys(), expected);
  EXPECT_EQ(down.conv1->weight.shape(), Shape({128, 64, 3, 3}));
  EXPECT_EQ(down.conv2->weight.shape(), Shape({128, 128, 3, 3}));
  EXPECT_EQ(down.downsample->at<Conv2d>(0)->weight.shape(), Shape({128, 64, 1, 1}));
  // A channel change alone also needs the projection.
  EXPECT_NE(BasicBlock(BasicBlockOptions(32, 64)).downsample, nullptr);
}

TEST(BasicBlock, DescribeAsTorchvision) {
  EXPECT_EQ(BasicBlock(BasicBlockOptions(64, 128).stride(2)).describe(),
            "BasicBlock(\n"
            "  (conv1): Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
            "bias=False)\n"
            "  (bn1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, "
            "track_running_stats=True)\n"
            "  (relu): ReLU()\n"
            "  (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), "
            "bias=False)\n"
            "  (bn2): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, "
            "track_running_stats=True)\n"
            "  (downsample): Sequential(\n"
            "    (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"
            "    (1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, "
            "track_running_stats=True)\n"
            "  )\n"
            ")");
}

TEST(BasicBlock, OutputShapes) {
  BasicBlock identity(BasicBlockOptions(8, 8));
  EXPECT_EQ(identity(Tensor::randn({2, 8, 6, 6})).shape(), Shape({2, 8, 6, 6}));
  BasicBlock down(BasicBlockOptions(8, 16).stride(2));
  EXPECT_EQ(down(Tensor::randn({2, 8, 7, 7})).shape(), Shape({2, 16, 4, 4}));
}

TEST(BasicBlock, ShortcutIsAdded) {
  // With conv2 zeroed, bn2 (training, bias 0) outputs zeros, leaving
  // relu(shortcut(x)).
  BasicBlock identity(BasicBlockOptions(4, 4));
  identity.to(DType::f64);
  identity.conv2->weight.fill_(0.0);
  const Tensor x = Tensor::randn({2, 4, 5, 5}, DType::f64);
  std::vector<double> expected;
  for (double v : x.to_vector()) expected.push_back(v > 0 ? v : 0.0);
  testing::expect_close(identity(x).to_vector(), expected, 1e-12, 0, "identity block");

  BasicBlock down(BasicBlockOptions(4, 6).stride(2));
  down.to(DType::f64);
  down.conv2->weight.fill_(0.0);
  const Tensor projected = relu(down.downsample->forward(x));
  testing::expect_close(down(x).to_vector(), projected.to_vector(), 1e-12, 0, "projection block");
}

TEST(BasicBlock, GradientsReachEveryParameter) {
  BasicBlock block(BasicBlockOptions(3, 4).stride(2));
  sum(block(Tensor::randn({2, 3, 6, 6}))).backward();
  for (const auto& [name, p] : block.named_parameters())
    EXPECT_TRUE(p.grad().defined()) << name;
}

}  // namespace
}  // namespace danlu::nn
