// batch_norm (training on 4-d and 2-d input with the running-statistics
// update, and eval) and layer_norm (over one and two trailing dims) against
// PyTorch: outputs, input/weight/bias gradients and running statistics.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/reference/reference_case.h"

namespace danlu {
namespace {

using testing::case_input;
using testing::expect_matches;
using testing::reference_cases;

// f64, both ops: the statistics are sums of <= 36 terms of magnitude < 50 and
// the backward sums as many; reordering them, or computing the variance in one
// pass instead of two (inputs have mean ~0.5 and std ~2, so almost no
// cancellation), moves results by ~1e-13 (measured: <= 3e-15). 1e-10 leaves
// wide headroom while a biased/unbiased variance mix-up (a factor n/(n-1), >=
// 3% here), a wrong eps placement or a missing term of the backward shows up at
// >= 1e-4.
constexpr double kAtol = 1e-10, kRtol = 1e-10;

TEST(NormReference, BatchNormMatchesPyTorch) {
  for (const auto& c : reference_cases("batch_norm.json")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Tensor x = case_input(c, "x"), w = case_input(c, "w"), b = case_input(c, "b");
    Tensor running_mean = case_input(c, "running_mean", DType::f64, false);
    Tensor running_var = case_input(c, "running_var", DType::f64, false);
    Tensor y = batch_norm(x, running_mean, running_var, w, b, c.at("training").get<bool>(),
                          c.at("momentum").get<double>(), c.at("eps").get<double>());
    expect_matches(y, c, "y", kAtol, kRtol);
    // Updated in place in training (momentum 0.1, unbiased variance); untouched in eval.
    expect_matches(running_mean, c, "running_mean_after", kAtol, kRtol);
    expect_matches(running_var, c, "running_var_after", kAtol, kRtol);
    y.backward(case_input(c, "gy", DType::f64, false));
    expect_matches(x.grad(), c, "gx", kAtol, kRtol);
    expect_matches(w.grad(), c, "gw", kAtol, kRtol);
    expect_matches(b.grad(), c, "gb", kAtol, kRtol);
  }
}

TEST(NormReference, LayerNormMatchesPyTorch) {
  for (const auto& c : reference_cases("layer_norm.json")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Tensor x = case_input(c, "x"), w = case_input(c, "w"), b = case_input(c, "b");
    Tensor y = layer_norm(x, c.at("normalized_shape").get<std::vector<int64_t>>(), w, b,
                          c.at("eps").get<double>());
    expect_matches(y, c, "y", kAtol, kRtol);
    y.backward(case_input(c, "gy", DType::f64, false));
    expect_matches(x.grad(), c, "gx", kAtol, kRtol);
    expect_matches(w.grad(), c, "gw", kAtol, kRtol);
    expect_matches(b.grad(), c, "gb", kAtol, kRtol);
  }
}

}  // namespace
}  // namespace danlu
