// cross_entropy (mean/sum/none, label smoothing 0 and 0.1) and mse_loss
// (mean/sum/none) against PyTorch: the loss and its gradients.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/reference/reference_case.h"

namespace danlu {
namespace {

using testing::case_input;
using testing::expect_matches;
using testing::reference_cases;

// f64. Cross-entropy is a log-sum-exp over 5 classes and a mean over 6 rows
// (logits up to ~6 in magnitude): exp/log differ from PyTorch's by <= 1 ulp and
// sums of <= 30 terms reorder by ~1e-15 relative. MSE is 12 squared differences
// (measured: <= 5e-16). 1e-11 leaves >1000x headroom; a label-smoothing or
// reduction mistake (e.g. eps/C vs eps/(C-1), sum vs mean) moves values by >=
// 1e-2.
constexpr double kAtol = 1e-11, kRtol = 1e-11;

Reduction reduction_of(const nlohmann::json& c) {
  const std::string r = c.at("reduction").get<std::string>();
  return r == "none" ? Reduction::none : r == "sum" ? Reduction::sum : Reduction::mean;
}

// A reduced loss is a scalar: backward() seeds it with 1, as loss.backward()
// in PyTorch. An unreduced one gets the stored upstream gradient.
void backward_from(const Tensor& y, const nlohmann::json& c) {
  if (c.contains("gy"))
    y.backward(case_input(c, "gy", DType::f64, false));
  else
    y.backward();
}

TEST(LossReference, CrossEntropyMatchesPyTorch) {
  for (const auto& c : reference_cases("cross_entropy.json")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Tensor logits = case_input(c, "logits");
    Tensor target = case_input(c, "target", DType::i64, false);
    CrossEntropyOptions options;
    options.reduction = reduction_of(c);
    options.label_smoothing = c.at("label_smoothing").get<double>();
    Tensor y = cross_entropy(logits, target, options);
    expect_matches(y, c, "y", kAtol, kRtol);
    backward_from(y, c);
    expect_matches(logits.grad(), c, "glogits", kAtol, kRtol);
  }
}

TEST(LossReference, MseLossMatchesPyTorch) {
  for (const auto& c : reference_cases("mse_loss.json")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    // PyTorch differentiates with respect to both operands; so must we.
    Tensor x = case_input(c, "x"), target = case_input(c, "target");
    Tensor y = mse_loss(x, target, reduction_of(c));
    expect_matches(y, c, "y", kAtol, kRtol);
    backward_from(y, c);
    expect_matches(x.grad(), c, "gx", kAtol, kRtol);
    expect_matches(target.grad(), c, "gtarget", kAtol, kRtol);
  }
}

}  // namespace
}  // namespace danlu
