// Pooling modules: values on a known grid, the stride default, padding
// rules, output shapes, printing and errors.
#include <gtest/gtest.h>

#include <numeric>

#include "danlu.h"
#include "layers/pool.h"

namespace danlu::nn {
namespace {

// (1, 1, 4, 4) holding 0..15 row by row.
Tensor grid() {
  std::vector<double> v(16);
  std::iota(v.begin(), v.end(), 0.0);
  return Tensor::from_vector(v, {1, 1, 4, 4});
}

TEST(MaxPool2d, StrideDefaultsToTheKernel) {
  MaxPool2d pool(2);
  EXPECT_EQ(pool(grid()).to_vector(), (std::vector<double>{5, 7, 13, 15}));
  EXPECT_EQ(pool.describe(),
            "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  MaxPool2d overlapping(MaxPool2dOptions(3).stride(1).padding(1));
  EXPECT_EQ(overlapping(grid()).shape(), Shape({1, 1, 4, 4}));
  EXPECT_EQ(overlapping(grid()).to_vector()[0], 5.0);
  MaxPool2d wide(MaxPool2dOptions({1, 2}).ceil_mode(true));
  EXPECT_EQ(wide(Tensor::zeros({2, 3, 5, 5})).shape(), Shape({2, 3, 5, 3}));
  EXPECT_EQ(wide.describe(),
            "MaxPool2d(kernel_size=(1, 2), stride=(1, 2), padding=0, dilation=1, ceil_mode=True)");
}

TEST(AvgPool2d, AveragesWithOrWithoutPadding) {
  AvgPool2d pool(2);
  EXPECT_EQ(pool(grid()).to_vector(), (std::vector<double>{2.5, 4.5, 10.5, 12.5}));
  AvgPool2d padded(AvgPool2dOptions(3).stride(1).padding(1));
  // Corner window holds 0, 1, 4, 5 and five padded zeros.
  EXPECT_FLOAT_EQ(static_cast<float>(padded(grid()).to_vector()[0]), 10.0f / 9.0f);
  AvgPool2d excluded(AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false));
  EXPECT_EQ(excluded(grid()).to_vector()[0], 2.5);
  EXPECT_EQ(padded.describe(), "AvgPool2d(kernel_size=3, stride=1, padding=1)");
}

TEST(AdaptiveAvgPool2d, GlobalAndBinnedAverages) {
  AdaptiveAvgPool2d global(1);
  EXPECT_EQ(global(grid()).to_vector(), std::vector<double>{7.5});
  EXPECT_EQ(global.describe(), "AdaptiveAvgPool2d(output_size=1)");
  AdaptiveAvgPool2d bins({2, 1});
  EXPECT_EQ(bins(grid()).to_vector(), (std::vector<double>{3.5, 11.5}));
  EXPECT_EQ(bins.describe(), "AdaptiveAvgPool2d(output_size=(2, 1))");
  EXPECT_THROW(AdaptiveAvgPool2d(0), Error);
}

TEST(Pool, ErrorsNameTheLayer) {
  try {
    MaxPool2d(MaxPool2dOptions(3).padding(2));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "MaxPool2d: padding (2, 2) must be non-negative and at most half the kernel size "
              "(3, 3)");
  }
  EXPECT_THROW(AvgPool2d(AvgPool2dOptions(2).stride(0)), Error);
  EXPECT_THROW(MaxPool2d(0), Error);
  try {
    AvgPool2d(2)(Tensor::zeros({4, 4}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "AvgPool2d: expected a 4-d input (N, C, H, W), got (4, 4)");
  }
}

}  // namespace
}  // namespace danlu::nn
