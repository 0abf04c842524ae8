// softmax and log_softmax along the first, a middle and the last dimension of
// a 3-d tensor, against PyTorch (softmax.json), forward and backward.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/reference/reference_case.h"

namespace danlu {
namespace {

using testing::case_input;
using testing::expect_matches;
using testing::reference_cases;

// f64: rows of <= 5 elements with logits up to ~6; exp/log agree with PyTorch's
// to ~1 ulp and the row sums reorder by ~1e-16 relative, so results agree to
// ~1e-14 (measured: <= 9e-16). 1e-11 is headroom, while a wrong stride along
// `dim` or a missing max-subtraction term in the backward is O(0.1).
constexpr double kAtol = 1e-11, kRtol = 1e-11;

TEST(SoftmaxReference, MatchesPyTorch) {
  for (const auto& c : reference_cases("softmax.json")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Tensor x = case_input(c, "x");
    const int64_t dim = c.at("dim").get<int64_t>();
    Tensor y = c.at("op") == "softmax" ? softmax(x, dim) : log_softmax(x, dim);
    expect_matches(y, c, "y", kAtol, kRtol);
    y.backward(case_input(c, "gy", DType::f64, false));
    expect_matches(x.grad(), c, "gx", kAtol, kRtol);
  }
}

}  // namespace
}  // namespace danlu
