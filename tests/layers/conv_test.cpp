// Conv2d: PyTorch's default init with groups and non-square kernels, output
// shapes, a hand-computed forward, options and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "danlu.h"
#include "layers/conv.h"

namespace danlu::nn {
namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::abs(v));
  return m;
}

TEST(Conv2d, DefaultInitIsPyTorchs) {
  manual_seed(0);
  Conv2d conv(Conv2dOptions(16, 64, {3, 5}).groups(2));
  EXPECT_EQ(conv.weight.shape(), Shape({64, 8, 3, 5}));
  // fan_in = in/groups * kh * kw = 120; weight and bias both U(-1/sqrt(120), 1/sqrt(120)).
  const double bound = 1.0 / std::sqrt(120.0);
  EXPECT_LE(max_abs(conv.weight), bound);
  EXPECT_GT(max_abs(conv.weight), 0.99 * bound);
  EXPECT_EQ(conv.bias.shape(), Shape({64}));
  EXPECT_LE(max_abs(conv.bias), bound);
  EXPECT_GT(max_abs(conv.bias), 0.5 * bound);
}

TEST(Conv2d, OutputShapes) {
  Conv2d conv(Conv2dOptions(4, 6, {3, 2}).stride({2, 1}).padding({1, 0}).dilation({2, 1}));
  // OH = (11 + 2 - 2*2 - 1)/2 + 1 = 5; OW = (7 + 0 - 1*1 - 1)/1 + 1 = 6.
  EXPECT_EQ(conv(Tensor::zeros({2, 4, 11, 7})).shape(), Shape({2, 6, 5, 6}));
  Conv2d same(Conv2dOptions(1, 32, 3).padding(1));
  EXPECT_EQ(same(Tensor::zeros({1, 1, 28, 28})).shape(), Shape({1, 32, 28, 28}));
}

TEST(Conv2d, OnesKernelCountsTheWindow) {
  Conv2d conv(Conv2dOptions(1, 1, 3).padding(1).bias(false));
  conv.weight.fill_(1.0);
  // Each output counts the in-bounds inputs of its 3x3 window.
  EXPECT_EQ(conv(Tensor::ones({1, 1, 3, 3})).to_vector(),
            (std::vector<double>{4, 6, 4, 6, 9, 6, 4, 6, 4}));
}

TEST(Conv2d, Describe) {
  EXPECT_EQ(Conv2d(Conv2dOptions(1, 32, 3).padding(1)).describe(),
            "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  EXPECT_EQ(Conv2d(Conv2dOptions(16, 64, {3, 5}).stride(2).dilation(2).groups(2).bias(false))
                .describe(),
            "Conv2d(16, 64, kernel_size=(3, 5), stride=(2, 2), dilation=(2, 2), groups=2, "
            "bias=False)");
}

TEST(Conv2d, OptionErrors) {
  EXPECT_THROW(Conv2d(Conv2dOptions(3, 4, 3).groups(2)), Error);
  EXPECT_THROW(Conv2d(Conv2dOptions(4, 6, 3).groups(4)), Error);
  EXPECT_THROW(Conv2d(Conv2dOptions(4, 4, 0)), Error);
  EXPECT_THROW(Conv2d(Conv2dOptions(4, 4, 3).stride(0)), Error);
  EXPECT_THROW(Conv2d(Conv2dOptions(4, 4, 3).padding(-1)), Error);
  EXPECT_THROW(Conv2d(Conv2dOptions(4, 4, {1, 2, 3})), Error);
}

TEST(Conv2d, ForwardErrorsNameTheLayer) {
  Conv2d conv(Conv2dOptions(3, 8, 3));
  try {
    conv(Tensor::zeros({3, 28, 28}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "Conv2d: expected a 4-d input (N, C, H, W), got (3, 28, 28)");
  }
  try {
    conv(Tensor::zeros({2, 1, 28, 28}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "Conv2d: expected 3 input channels, got 1 (input (2, 1, 28, 28))");
  }
}

}  // namespace
}  // namespace danlu::nn
