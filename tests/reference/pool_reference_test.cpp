// max_pool2d, avg_pool2d (padding, count_include_pad, ceil_mode) and
// adaptive_avg_pool2d against PyTorch (pool.json), forward and backward.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/reference/reference_case.h"

namespace danlu {
namespace {

using testing::case_input;
using testing::expect_matches;
using testing::reference_cases;
using testing::pair_param;

// f64. Max pooling copies values and routes gradients, so it should be exact up
// to the summation of overlapping windows' gradients (<= 4 terms, ~1e-15).
// Average pooling sums <= 9 terms of magnitude < 4 and divides; reordering
// costs ~1e-15 (measured: max pooling exact, averages <= 6e-17). 1e-12 is ample
// for both, while a wrong divisor (the count_include_pad / ceil_mode rules)
// changes a window by >= 10%.
constexpr double kAtol = 1e-12, kRtol = 1e-12;

Tensor run_pool(const nlohmann::json& c, const Tensor& x) {
  const std::string op = c.at("op").get<std::string>();
  if (op == "adaptive_avg") return adaptive_avg_pool2d(x, pair_param(c.at("output_size")));
  Pool2dParams p;
  p.kernel = pair_param(c.at("kernel"));
  p.stride = pair_param(c.at("stride"));
  p.padding = pair_param(c.at("padding"));
  p.ceil_mode = c.at("ceil_mode").get<bool>();
  p.count_include_pad = c.at("count_include_pad").get<bool>();
  return op == "max" ? max_pool2d(x, p) : avg_pool2d(x, p);
}

TEST(PoolReference, MatchesPyTorch) {
  for (const auto& c : reference_cases("pool.json")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Tensor x = case_input(c, "x");
    Tensor y = run_pool(c, x);
    expect_matches(y, c, "y", kAtol, kRtol);
    y.backward(case_input(c, "gy", DType::f64, false));
    expect_matches(x.grad(), c, "gx", kAtol, kRtol);
  }
}

// Stride {0, 0} means "the kernel size", PyTorch's default: the cases whose
// stride equals their kernel must give the same output without it.
TEST(PoolReference, ZeroStrideMeansKernelSize) {
  for (const auto& c : reference_cases("pool.json")) {
    if (c.at("op") == "adaptive_avg" || c.at("stride") != c.at("kernel")) continue;
    SCOPED_TRACE(c.at("name").get<std::string>());
    nlohmann::json defaulted = c;
    defaulted["stride"] = {0, 0};
    expect_matches(run_pool(defaulted, case_input(c, "x", DType::f64, false)), c, "y", kAtol,
                   kRtol);
  }
}

}  // namespace
}  // namespace danlu
