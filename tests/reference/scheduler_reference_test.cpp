// LR sequences against tests/reference/schedulers.json: PyTorch's schedulers
// as torch.optim.lr_scheduler ran them over a two-group SGD with momentum,
// Paddle's, TensorFlow's and Caffe's from their published formulas. Every
// scheduler is built from the case's JSON spec by make_scheduler(), so the
// spec reader is checked along with the arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "schedulers/schedulers.h"
#include "tests/support/expect_close.h"
#include "tests/support/reference.h"

namespace danlu::testing {
namespace {

// An optimizer as far as a scheduler can see: per-group lr and momentum.
class FakeOptimizer : public sched::LrTarget {
 public:
  FakeOptimizer(std::vector<double> lrs, std::vector<double> momentum)
      : lrs_(std::move(lrs)), momentum_(std::move(momentum)) {}
  size_t num_param_groups() const override { return lrs_.size(); }
  double lr(size_t g) const override { return lrs_[g]; }
  void set_lr(size_t g, double lr) override { lrs_[g] = lr; }
  bool has_momentum() const override { return true; }
  double momentum(size_t g) const override { return momentum_[g]; }
  void set_momentum(size_t g, double m) override { momentum_[g] = m; }
  const std::vector<double>& momenta() const { return momentum_; }

 private:
  std::vector<double> lrs_, momentum_;
};

// The lambdas make_vectors.py gave LambdaLR and MultiplicativeLR, by name.
sched::LrLambda named_lambda(const std::string& name) {
  static const std::map<std::string, sched::LrLambda> lambdas = {
      {"pow095", [](int64_t e) { return std::pow(0.95, double(e)); }},
      {"inv_epoch1", [](int64_t e) { return 1.0 / double(e + 1); }},
      {"const09", [](int64_t) { return 0.9; }},
      {"linear001", [](int64_t e) { return 1.0 - 0.01 * double(e); }},
  };
  return lambdas.at(name);
}

std::unique_ptr<sched::LRScheduler> build(const nlohmann::json& c, FakeOptimizer& opt) {
  const std::string type = c.at("spec").at("type").get<std::string>();
  if (type != "LambdaLR" && type != "MultiplicativeLR")
    return sched::make_scheduler(c.at("spec"), opt);
  std::vector<sched::LrLambda> fns;
  for (const auto& n : c.at("lambdas")) fns.push_back(named_lambda(n.get<std::string>()));
  if (type == "LambdaLR") return std::make_unique<sched::LambdaLR>(opt, fns);
  return std::make_unique<sched::MultiplicativeLR>(opt, fns);
}

TEST(SchedulerReference, SequencesMatchTheirSource) {
  const nlohmann::json cases = load_reference("schedulers.json").at("cases");
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    FakeOptimizer opt(c.at("group_lrs").get<std::vector<double>>(),
                      c.at("group_momentum").get<std::vector<double>>());
    std::unique_ptr<sched::LRScheduler> s = build(c, opt);
    const auto& lrs = c.at("lrs");
    const nlohmann::json* metrics = c.contains("metrics") ? &c.at("metrics") : nullptr;
    const nlohmann::json* momentum = c.contains("momentum") ? &c.at("momentum") : nullptr;
    for (size_t t = 0; t < lrs.size(); ++t) {
      if (t > 0) {
        if (metrics)
          s->step(metrics->at(t - 1).get<double>());
        else
          s->step();
      }
      const std::string at = name + " step " + std::to_string(t);
      // The same float64 operations in the same order as the Python side;
      // libm is shared, so differences stay at a few ulps (fused
      // multiply-adds, constant folding). atol covers lrs that reach 0.
      expect_close(s->get_last_lr(), lrs.at(t).get<std::vector<double>>(), 1e-15, 1e-12, at);
      for (size_t g = 0; g < opt.num_param_groups(); ++g)
        ASSERT_EQ(opt.lr(g), s->get_last_lr()[g]) << at << ": the optimizer's lr differs";
      if (momentum)
        expect_close(opt.momenta(), momentum->at(t).get<std::vector<double>>(), 1e-15, 1e-12,
                     at + " momentum");
    }
  }
}

}  // namespace
}  // namespace danlu::testing
