// Pointwise activations against PyTorch (activation.json): relu, leaky_relu,
// elu (two alphas), gelu (exact erf form and tanh approximation), silu,
// sigmoid and tanh, forward and backward, on inputs in about [-4, 4].
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/reference/reference_case.h"

namespace danlu {
namespace {

using testing::case_input;
using testing::expect_matches;
using testing::reference_cases;

// f64: each value is one or two libm calls (exp, erf, tanh), which differ from
// PyTorch's vectorised versions by a few ulp (~1e-15 relative), plus a few
// flops; where the value is tiny (gelu far left) the absolute error is smaller
// still (measured: <= 5e-16). 1e-12 keeps three orders of headroom while an
// erf-vs-tanh gelu mix-up (up to ~5e-4 apart) or a wrong alpha/slope fails
// clearly.
constexpr double kAtol = 1e-12, kRtol = 1e-12;

Tensor run_activation(const nlohmann::json& c, const Tensor& x) {
  const std::string op = c.at("op").get<std::string>();
  if (op == "relu") return relu(x);
  if (op == "leaky_relu") return leaky_relu(x, c.at("negative_slope").get<double>());
  if (op == "elu") return elu(x, c.at("alpha").get<double>());
  if (op == "gelu")
    return gelu(x, c.at("approximate") == "tanh" ? GeluApproximate::tanh : GeluApproximate::none);
  if (op == "silu") return silu(x);
  if (op == "sigmoid") return sigmoid(x);
  if (op == "tanh") return danlu::tanh(x);
  ADD_FAILURE() << "activation.json names an unknown op " << op;
  return x;
}

TEST(ActivationReference, MatchesPyTorch) {
  for (const auto& c : reference_cases("activation.json")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Tensor x = case_input(c, "x");
    Tensor y = run_activation(c, x);
    expect_matches(y, c, "y", kAtol, kRtol);
    y.backward(case_input(c, "gy", DType::f64, false));
    expect_matches(x.grad(), c, "gx", kAtol, kRtol);
  }
}

}  // namespace
}  // namespace danlu
