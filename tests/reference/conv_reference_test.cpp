// conv2d forward and backward against PyTorch (conv2d.json): plain 3x3,
// stride + padding, dilation, groups, depthwise, a 3x2 kernel with unequal
// strides, no bias and 1x1.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/reference/reference_case.h"

namespace danlu {
namespace {

using testing::case_input;
using testing::expect_matches;
using testing::reference_cases;
using testing::pair_param;

// f64: PyTorch and danlu differ only in summation order. The longest sums here
// (the weight gradient) have <= 80 terms with sum |term| < 200, so reordering
// moves a result by at most n * 1.1e-16 * 200 ~ 2e-12 (measured: <= 6e-15).
// 1e-10 leaves wide headroom; a missed or shifted tap changes values by O(0.1).
constexpr double kAtol64 = 1e-10, kRtol64 = 1e-10;
// f32: the inputs are rounded to f32 (2^-24 ~ 6e-8 relative) and the same
// <= 80-term sums accumulate in f32, so the expected error is about
// sqrt(n) * 6e-8 * sum |term| ~ 1e-5 on the largest gradients (|value| up to
// ~20); measured: <= 2.7e-6. 1e-5 absolute + 1e-5 relative allows that with
// >= 4x headroom and is still four orders below an indexing mistake.
constexpr double kAtol32 = 1e-5, kRtol32 = 1e-5;

void check_case(const nlohmann::json& c, DType dtype, double atol, double rtol) {
  SCOPED_TRACE(c.at("name").get<std::string>() + (dtype == DType::f64 ? " f64" : " f32"));
  Tensor x = case_input(c, "x", dtype), w = case_input(c, "w", dtype);
  const bool has_bias = c.contains("b");
  Tensor b = has_bias ? case_input(c, "b", dtype) : Tensor();
  Conv2dParams p;
  p.stride = pair_param(c.at("stride"));
  p.padding = pair_param(c.at("padding"));
  p.dilation = pair_param(c.at("dilation"));
  p.groups = c.at("groups").get<int64_t>();

  Tensor y = conv2d(x, w, b, p);
  EXPECT_EQ(y.dtype(), dtype);
  expect_matches(y, c, "y", atol, rtol);
  y.backward(case_input(c, "gy", dtype, false));
  expect_matches(x.grad(), c, "gx", atol, rtol);
  expect_matches(w.grad(), c, "gw", atol, rtol);
  if (has_bias) expect_matches(b.grad(), c, "gb", atol, rtol);
}

TEST(ConvReference, Float64MatchesPyTorch) {
  for (const auto& c : reference_cases("conv2d.json"))
    check_case(c, DType::f64, kAtol64, kRtol64);
}

TEST(ConvReference, Float32MatchesPyTorch) {
  for (const auto& c : reference_cases("conv2d.json"))
    check_case(c, DType::f32, kAtol32, kRtol32);
}

}  // namespace
}  // namespace danlu
