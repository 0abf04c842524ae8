// The plain reference conv (kernels/cpu/conv_reference.h), the oracle of
// every conv kernel test, against PyTorch (conv2d.json): forward, dx,
// dweight and dbias in f64 and f32, over plain 3x3, stride + padding,
// dilation, groups, depthwise, a 3x2 kernel with unequal strides, no bias
// and 1x1.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "danlu.h"
#include "kernels/cpu/conv_reference.h"
#include "tests/reference/reference_case.h"

namespace danlu {
namespace {

using testing::expect_matches;
using testing::pair_param;
using testing::reference_cases;
using testing::tensor_from_json;

// f64: PyTorch and the reference differ only in summation order. The longest
// sums here (the weight gradient) have <= 80 terms with sum |term| < 200, so
// reordering moves a result by at most 80 * 1.1e-16 * 200 ~ 2e-12 (measured:
// <= 5.3e-15). 1e-10 leaves wide headroom; a missed or shifted tap changes
// values by O(0.1).
constexpr double kAtol64 = 1e-10, kRtol64 = 1e-10;
// f32: the inputs are rounded to f32 (2^-24 ~ 6e-8 relative each), the sums
// run in double and the result is rounded once, so the error is about
// sqrt(n) * 6e-8 * sum |term| ~ 1e-5 at most on the largest gradients
// (|value| up to ~20); measured: <= 1.1e-6. 1e-5 absolute + 1e-5 relative
// is still four orders below an indexing mistake.
constexpr double kAtol32 = 1e-5, kRtol32 = 1e-5;

// A case's tensor `key` as T values, and its shape.
template <class T>
std::vector<T> values(const nlohmann::json& c, const std::string& key) {
  const std::vector<double> v = tensor_from_json(c.at(key)).to_vector();
  return std::vector<T>(v.begin(), v.end());
}
Shape shape_of(const nlohmann::json& c, const std::string& key) {
  return tensor_from_json(c.at(key)).shape();
}

template <class T>
void check_case(const nlohmann::json& c, double atol, double rtol) {
  const Shape xs = shape_of(c, "x"), ws = shape_of(c, "w"), ys = shape_of(c, "y");
  kernels::Conv2dShape s;
  s.n = xs[0], s.c = xs[1], s.h = xs[2], s.w = xs[3];
  s.o = ws[0], s.kh = ws[2], s.kw = ws[3], s.oh = ys[2], s.ow = ys[3];
  const auto stride = pair_param(c.at("stride")), padding = pair_param(c.at("padding"));
  const auto dilation = pair_param(c.at("dilation"));
  s.stride_h = stride[0], s.stride_w = stride[1], s.pad_h = padding[0], s.pad_w = padding[1];
  s.dil_h = dilation[0], s.dil_w = dilation[1];
  s.groups = c.at("groups").get<int64_t>();
  const bool has_bias = c.contains("b");
  const std::vector<T> x = values<T>(c, "x"), w = values<T>(c, "w"), gy = values<T>(c, "gy");
  const std::vector<T> b = has_bias ? values<T>(c, "b") : std::vector<T>();
  std::vector<T> y(ys.numel()), gx(xs.numel()), gw(ws.numel()), gb(s.o);
  kernels::reference::conv2d_forward<T>(x.data(), w.data(), has_bias ? b.data() : nullptr, y.data(),
                                        s);
  kernels::reference::conv2d_backward_data<T>(w.data(), gy.data(), gx.data(), s);
  kernels::reference::conv2d_backward_weight<T>(x.data(), gy.data(), gw.data(), gb.data(), s);
  const auto tensor = [](const std::vector<T>& v, const Shape& shape) {
    return Tensor::from_vector(std::vector<double>(v.begin(), v.end()), shape, DType::f64);
  };
  expect_matches(tensor(y, ys), c, "y", atol, rtol);
  expect_matches(tensor(gx, xs), c, "gx", atol, rtol);
  expect_matches(tensor(gw, ws), c, "gw", atol, rtol);
  if (has_bias) expect_matches(tensor(gb, {s.o}), c, "gb", atol, rtol);
}

TEST(ConvOracle, Float64MatchesPyTorch) {
  for (const auto& c : reference_cases("conv2d.json")) check_case<double>(c, kAtol64, kRtol64);
}

TEST(ConvOracle, Float32MatchesPyTorch) {
  for (const auto& c : reference_cases("conv2d.json")) check_case<float>(c, kAtol32, kRtol32);
}

}  // namespace
}  // namespace danlu
