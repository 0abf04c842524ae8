// linear (2-d and 3-d input, with and without bias), matmul (2-d and batched
// 3-d) and bmm against PyTorch (linear.json), forward and backward.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/reference/reference_case.h"

namespace danlu {
namespace {

using testing::case_input;
using testing::expect_matches;
using testing::reference_cases;

// f64: dot products of <= 6 terms of magnitude < 10 (BLAS may reorder or use
// FMA), ~1e-14 apart from PyTorch's (measured: <= 9e-16). 1e-11 is headroom; a
// transposed operand or a bias gradient not summed over the batch is O(1) off.
constexpr double kAtol = 1e-11, kRtol = 1e-11;

TEST(LinearReference, MatchesPyTorch) {
  for (const auto& c : reference_cases("linear.json")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::string op = c.at("op").get<std::string>();
    if (op == "linear") {
      Tensor x = case_input(c, "x"), w = case_input(c, "w");
      Tensor b = c.contains("b") ? case_input(c, "b") : Tensor();
      Tensor y = linear(x, w, b);
      expect_matches(y, c, "y", kAtol, kRtol);
      y.backward(case_input(c, "gy", DType::f64, false));
      expect_matches(x.grad(), c, "gx", kAtol, kRtol);
      expect_matches(w.grad(), c, "gw", kAtol, kRtol);
      if (b.defined()) expect_matches(b.grad(), c, "gb", kAtol, kRtol);
    } else {
      Tensor a = case_input(c, "a"), b = case_input(c, "b");
      Tensor y = op == "bmm" ? bmm(a, b) : matmul(a, b);
      expect_matches(y, c, "y", kAtol, kRtol);
      y.backward(case_input(c, "gy", DType::f64, false));
      expect_matches(a.grad(), c, "ga", kAtol, kRtol);
      expect_matches(b.grad(), c, "gb", kAtol, kRtol);
    }
  }
}

}  // namespace
}  // namespace danlu
