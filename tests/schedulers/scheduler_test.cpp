// Schedulers beyond their reference sequences: a saved and reloaded scheduler
// continues bit for bit, epoch-based schedules stepped per iteration, the
// one-line errors of JSON specs, momentum cycling and PyTorch's initial_lr.
#include <gtest/gtest.h>

#include <functional>

#include "schedulers/noise.h"
#include "schedulers/schedulers.h"
#include "tests/support/error_of.h"

namespace danlu::testing {
namespace {

using nlohmann::json;

class FakeOptimizer : public sched::LrTarget {
 public:
  explicit FakeOptimizer(std::vector<double> lrs, bool has_momentum = true)
      : lrs_(std::move(lrs)), momentum_(lrs_.size(), 0.9), has_momentum_(has_momentum) {}
  size_t num_param_groups() const override { return lrs_.size(); }
  double lr(size_t g) const override { return lrs_[g]; }
  void set_lr(size_t g, double lr) override { lrs_[g] = lr; }
  bool has_momentum() const override { return has_momentum_; }
  double momentum(size_t g) const override { return momentum_[g]; }
  void set_momentum(size_t g, double m) override { momentum_[g] = m; }
  const std::vector<double>& lrs() const { return lrs_; }
  const std::vector<double>& momenta() const { return momentum_; }

 private:
  std::vector<double> lrs_, momentum_;
  bool has_momentum_;
};

// A metric that falls, stalls and recovers, for ReduceLROnPlateau.
double metric_at(int t) { return 1.0 / (1 + (t % 17)) + 0.01 * (t / 17); }

void step(sched::LRScheduler& s, int t) {
  if (s.needs_metric())
    s.step(metric_at(t));
  else
    s.step();
}

// Steps `n` times, recording every group's lr and momentum after each step.
std::vector<std::vector<double>> run(sched::LRScheduler& s, FakeOptimizer& opt, int from, int n) {
  std::vector<std::vector<double>> out;
  for (int t = from; t < from + n; ++t) {
    step(s, t);
    std::vector<double> row = opt.lrs();
    row.insert(row.end(), opt.momenta().begin(), opt.momenta().end());
    out.push_back(row);
  }
  return out;
}

using Make = std::function<std::unique_ptr<sched::LRScheduler>(FakeOptimizer&)>;

// Runs a scheduler 13 steps, saves it, runs 20 more; a second scheduler over a
// fresh optimizer loads the saved state and must give the same 20 steps, lrs
// and momentum bit for bit. The fresh optimizer's lrs and momentum were not
// saved: the scheduler state alone restores them.
void expect_identical_continuation(const Make& make) {
  FakeOptimizer a_opt({0.1, 0.05});
  auto a = make(a_opt);
  run(*a, a_opt, 0, 13);
  const json saved = json::parse(a->state_dict().dump());  // through text, as a checkpoint
  const auto expected = run(*a, a_opt, 13, 20);

  FakeOptimizer b_opt({0.1, 0.05});
  auto b = make(b_opt);
  b->load_state_dict(saved);
  EXPECT_EQ(b->last_epoch(), saved.at("last_epoch").get<int64_t>());
  EXPECT_EQ(run(*b, b_opt, 13, 20), expected);
}

TEST(SchedulerState, ReloadedSchedulerContinuesIdentically) {
  const std::vector<json> specs = {
      {{"type", "StepLR"}, {"step_size", 4}, {"gamma", 0.5}},
      {{"type", "CosineAnnealingLR"}, {"T_max", 7}, {"eta_min", 0.001}},
      {{"type", "CosineAnnealingWarmRestarts"}, {"T_0", 3}, {"T_mult", 2}},
      {{"type", "CyclicLR"},
       {"base_lr", 0.01},
       {"max_lr", {0.1, 0.2}},
       {"step_size_up", 3},
       {"mode", "triangular2"}},
      {{"type", "OneCycleLR"}, {"max_lr", 0.5}, {"total_steps", 40}, {"three_phase", true}},
      {{"type", "ReduceLROnPlateau"}, {"patience", 1}, {"cooldown", 2}, {"factor", 0.5}},
      {{"type", "SequentialLR"},
       {"milestones", {5}},
       {"schedulers",
        {{{"type", "LinearLR"}, {"start_factor", 0.1}, {"total_iters", 5}},
         {{"type", "ExponentialLR"}, {"gamma", 0.9}}}}},
      {{"type", "ChainedScheduler"},
       {"schedulers",
        {{{"type", "ConstantLR"}, {"factor", 0.5}, {"total_iters", 6}},
         {{"type", "CosineAnnealingLR"}, {"T_max", 9}}}}},
      {{"type", "LinearWarmup"},
       {"warmup_steps", 6},
       {"start_lr", 0.0},
       {"end_lr", 0.1},
       {"learning_rate", {{"type", "CosineAnnealingWarmRestarts"}, {"T_0", 4}}}},
      {{"type", "NoisyLinearCosineDecay"}, {"decay_steps", 30}, {"seed", 3}},
      {{"type", "StepLR"}, {"step_size", 2}, {"interval", "epoch"}, {"iterations_per_epoch", 3}},
  };
  for (const json& spec : specs) {
    SCOPED_TRACE(spec.dump());
    expect_identical_continuation(
        [&](FakeOptimizer& opt) { return sched::make_scheduler(spec, opt); });
  }
  SCOPED_TRACE("MultiplicativeLR");
  expect_identical_continuation([](FakeOptimizer& opt) {
    return std::make_unique<sched::MultiplicativeLR>(opt, [](int64_t e) { return 1.0 - 0.02 * e; });
  });
}

TEST(SchedulerState, RefusesAnotherSchedulersState) {
  FakeOptimizer opt({0.1});
  sched::StepLR step(opt, 3);
  sched::ExponentialLR exp(opt, 0.9);
  EXPECT_EQ(error_of([&] { exp.load_state_dict(step.state_dict()); }),
            "scheduler state: saved by StepLR, cannot load into ExponentialLR");
  json broken = step.state_dict();
  broken.erase("last_lr");
  EXPECT_NE(error_of([&] { step.load_state_dict(broken); }).find("scheduler state: StepLR: "),
            std::string::npos);
}

TEST(SchedulerInterval, EpochScheduleSteppedPerIteration) {
  const int per_epoch = 4, epochs = 9;
  FakeOptimizer by_epoch({0.1, 0.02}), by_iteration({0.1, 0.02});
  sched::CosineAnnealingLR direct(by_epoch, 5, 0.001);
  auto wrapped = sched::make_scheduler(
      {{"type", "CosineAnnealingLR"}, {"T_max", 5}, {"eta_min", 0.001}, {"interval", "epoch"}},
      by_iteration, per_epoch);
  EXPECT_EQ(wrapped->name(), "EpochStepper");
  for (int e = 0; e < epochs; ++e) {
    for (int i = 0; i < per_epoch; ++i) {
      // Every iteration of epoch e trains with epoch e's lr.
      EXPECT_EQ(by_iteration.lrs(), by_epoch.lrs()) << "epoch " << e << " iteration " << i;
      wrapped->step();
    }
    direct.step();
    EXPECT_EQ(wrapped->last_epoch(), direct.last_epoch());
    EXPECT_EQ(wrapped->get_last_lr(), direct.get_last_lr());
  }
}

TEST(SchedulerInterval, StepIntervalCountsIterations) {
  FakeOptimizer a({0.1}), b({0.1});
  auto from_json = sched::make_scheduler({{"type", "StepLR"}, {"step_size", 3}}, a, 100);
  sched::StepLR direct(b, 3);
  for (int t = 0; t < 10; ++t) {
    from_json->step();
    direct.step();
    EXPECT_EQ(a.lrs(), b.lrs());
  }
}

TEST(SchedulerInterval, PlateauSeesTheMetricAtEpochEnds) {
  FakeOptimizer opt({1.0});
  auto s = sched::make_scheduler({{"type", "ReduceLROnPlateau"},
                                  {"patience", 0},
                                  {"interval", "epoch"},
                                  {"iterations_per_epoch", 2}},
                                 opt);
  ASSERT_TRUE(s->needs_metric());
  s->step(5.0);  // mid-epoch: ignored
  s->step(1.0);  // epoch 1 ends: best = 1
  s->step(0.5);
  s->step(2.0);  // epoch 2 ends without improvement: patience 0, so reduce
  EXPECT_EQ(opt.lrs(), std::vector<double>{0.1});
  EXPECT_EQ(s->last_epoch(), 2);
}

// The error make_scheduler() gives for `spec`, after checking that it is one
// line and that the optimizer's lrs are as they were.
std::string spec_error(const json& spec) {
  FakeOptimizer opt({0.1, 0.05});
  const std::string e = error_of([&] { sched::make_scheduler(spec, opt); });
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_EQ(opt.lrs(), (std::vector<double>{0.1, 0.05})) << "a failed spec changed the lrs";
  EXPECT_EQ(opt.momenta(), (std::vector<double>{0.9, 0.9})) << "a failed spec changed momentum";
  return e;
}

TEST(SchedulerSpec, ErrorsNameTheFieldAndTheAllowedValues) {
  EXPECT_EQ(spec_error({{"type", "StepLR"}, {"step_size", 3}, {"gamma", -1}}),
            "scheduler.gamma: expected a number > 0, got -1");
  EXPECT_EQ(spec_error({{"type", "ExponentialLR"}, {"gamma", 0}}),
            "scheduler.gamma: expected a number > 0, got 0");
  EXPECT_EQ(spec_error({{"type", "StepLR"}, {"gamma", 0.5}}),
            "scheduler.step_size: required by StepLR (an integer)");
  EXPECT_EQ(spec_error({{"type", "StepLR"}, {"step_size", 2.5}}),
            "scheduler.step_size: expected an integer, got 2.5");
  EXPECT_EQ(spec_error({{"type", "StepLR"}, {"step_size", 3}, {"gama", 0.5}}),
            "scheduler.gama: unknown key for StepLR; expected one of type, interval, "
            "iterations_per_epoch, step_size, gamma");
  EXPECT_EQ(spec_error({{"type", "MultiStepLR"}, {"milestones", json::array()}}),
            "scheduler.milestones: expected a non-empty list of non-decreasing integers >= 0, "
            "got []");
  EXPECT_EQ(spec_error({{"type", "MultiStepLR"}, {"milestones", {30, 10}}}),
            "scheduler.milestones: expected a non-empty list of non-decreasing integers >= 0, "
            "got [30, 10]");
  EXPECT_EQ(spec_error({{"type", "CyclicLR"}, {"base_lr", -0.1}, {"max_lr", 0.1}}),
            "scheduler.base_lr: expected numbers >= 0, got -0.1");
  EXPECT_EQ(
      spec_error({{"type", "CyclicLR"}, {"base_lr", {0.1, 0.2, 0.3}}, {"max_lr", 1}}),
      "scheduler.base_lr: expected one value or one per param group (2), got [0.1, 0.2, 0.3]");
  EXPECT_EQ(spec_error({{"type", "CyclicLR"}, {"base_lr", 0.1}, {"max_lr", 1}, {"mode", "tri"}}),
            "scheduler.mode: expected one of \"triangular\", \"triangular2\", \"exp_range\", got "
            "\"tri\"");
  EXPECT_EQ(
      spec_error(
          {{"type", "OneCycleLR"}, {"max_lr", 0.1}, {"total_steps", 100}, {"pct_start", 1.5}}),
      "scheduler.pct_start: expected a number in [0, 1], got 1.5");
  EXPECT_EQ(spec_error({{"type", "OneCycleLR"}, {"max_lr", 0.1}, {"epochs", 3}}),
            "scheduler.total_steps: required, or else both epochs and steps_per_epoch");
  EXPECT_EQ(
      spec_error(
          {{"type", "LinearWarmup"}, {"warmup_steps", 5}, {"start_lr", 0.1}, {"end_lr", 0.1}}),
      "scheduler.end_lr: expected a number > start_lr (0.1), got 0.1");
  EXPECT_EQ(spec_error({{"type", "ReduceLROnPlateau"}, {"threshold_mode", "relative"}}),
            "scheduler.threshold_mode: expected one of \"rel\", \"abs\", got \"relative\"");
  EXPECT_EQ(spec_error({{"type", "StepLR"}, {"step_size", 3}, {"interval", "batch"}}),
            "scheduler.interval: expected one of \"step\", \"epoch\", got \"batch\"");
  EXPECT_EQ(spec_error({{"type", "StepLR"}, {"step_size", 3}, {"interval", "epoch"}}),
            "scheduler.iterations_per_epoch: required with \"interval\": \"epoch\" (an integer "
            ">= 1) unless the trainer knows it");
  EXPECT_EQ(spec_error({{"type", "LambdaLR"}}),
            "scheduler.type: LambdaLR takes C++ functions and cannot be built from JSON");
  EXPECT_EQ(spec_error({{"step_size", 3}}),
            "scheduler.type: required (the schedule's name, e.g. \"StepLR\")");
  EXPECT_EQ(spec_error(json::array()),
            "scheduler: expected an object {\"type\": NAME, ...}, got []");
  const std::string unknown = spec_error({{"type", "Cosine"}});
  EXPECT_EQ(unknown.rfind("scheduler.type: unknown scheduler \"Cosine\"; expected one of [", 0), 0u)
      << unknown;
  EXPECT_NE(unknown.find("\"CosineAnnealingLR\""), std::string::npos);
}

TEST(SchedulerSpec, NestedErrorsNameTheNestedField) {
  const json children = {{{"type", "LinearLR"}, {"total_iters", 5}},
                         {{"type", "CosineAnnealingLR"}, {"T_max", 0}}};
  EXPECT_EQ(spec_error({{"type", "SequentialLR"}, {"milestones", {5}}, {"schedulers", children}}),
            "scheduler.schedulers[1].T_max: expected an integer >= 1, got 0");
  EXPECT_EQ(
      spec_error({{"type", "SequentialLR"}, {"milestones", {5, 8}}, {"schedulers", children}}),
      "scheduler.schedulers[1].T_max: expected an integer >= 1, got 0");
  const json good = {{{"type", "LinearLR"}, {"total_iters", 5}},
                     {{"type", "CosineAnnealingLR"}, {"T_max", 10}}};
  EXPECT_EQ(spec_error({{"type", "SequentialLR"}, {"milestones", {5, 8}}, {"schedulers", good}}),
            "scheduler.milestones: expected 1 milestones (one fewer than schedulers), got [5, 8]");
  EXPECT_EQ(
      spec_error({{"type", "ChainedScheduler"}, {"schedulers", {{{"type", "ReduceLROnPlateau"}}}}}),
      "scheduler.schedulers[0].type: ReduceLROnPlateau cannot run inside ChainedScheduler "
      "(it needs a metric)");
  EXPECT_EQ(spec_error({{"type", "LinearWarmup"},
                        {"warmup_steps", 5},
                        {"start_lr", 0},
                        {"end_lr", 0.1},
                        {"learning_rate", {{"type", "PolynomialDecay"}, {"decay_steps", -3}}}}),
            "scheduler.learning_rate.decay_steps: expected an integer >= 1, got -3");
  EXPECT_EQ(spec_error({{"type", "LinearWarmup"},
                        {"warmup_steps", 5},
                        {"start_lr", 0},
                        {"end_lr", 0.1},
                        {"learning_rate", "cosine"}}),
            "scheduler.learning_rate: expected a number or a scheduler spec {\"type\": ...}, got "
            "\"cosine\"");
}

TEST(SchedulerSpec, CppConstructorsNameTheClass) {
  FakeOptimizer opt({0.1});
  EXPECT_EQ(error_of([&] { sched::StepLR(opt, 3, -1); }),
            "StepLR.gamma: expected a number > 0, got -1");
  EXPECT_EQ(error_of([&] { sched::NoamDecay(opt, 0, 10); }),
            "NoamDecay.d_model: expected a number > 0, got 0");
}

// Equal up to the rounding of the schedule's arithmetic (OneCycleLR's
// cosine anneal starts at end + (start - end) / 2 * 2, a few ulps of max_lr).
void expect_near(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-15) << "group " << i;
}

TEST(SchedulerMomentum, CyclicLRMovesMomentumAgainstTheLr) {
  FakeOptimizer opt({0.5, 0.5});
  sched::CyclicLR s(opt, sched::CyclicLROptions({0.01}, {0.1})
                             .step_size_up(4)
                             .base_momentum({0.8, 0.7})
                             .max_momentum({0.9}));
  // At the bottom of a cycle: base lr, max momentum; at the top the reverse.
  expect_near(opt.lrs(), {0.01, 0.01});
  expect_near(opt.momenta(), {0.9, 0.9});
  for (int t = 0; t < 4; ++t) s.step();
  expect_near(opt.lrs(), {0.1, 0.1});
  expect_near(opt.momenta(), {0.8, 0.7});
  for (int t = 0; t < 4; ++t) s.step();
  expect_near(opt.lrs(), {0.01, 0.01});
  expect_near(opt.momenta(), {0.9, 0.9});
}

TEST(SchedulerMomentum, OneCycleLRStartsAtMaxMomentum) {
  FakeOptimizer opt({0.5});
  sched::OneCycleLR s(opt, sched::OneCycleLROptions({1.0}).total_steps(10).pct_start(0.5));
  expect_near(opt.lrs(), {1.0 / 25});
  expect_near(opt.momenta(), {0.95});
  for (int t = 0; t < 4; ++t) s.step();  // the peak is at step pct_start * total - 1 = 4
  expect_near(opt.lrs(), {1.0});
  expect_near(opt.momenta(), {0.85});
}

TEST(SchedulerMomentum, NeedsAnOptimizerWithMomentum) {
  FakeOptimizer plain({0.1}, /*has_momentum=*/false);
  EXPECT_EQ(
      error_of([&] {
        sched::make_scheduler({{"type", "CyclicLR"}, {"base_lr", 0.01}, {"max_lr", 0.1}}, plain);
      }),
      "scheduler.cycle_momentum: expected false for an optimizer without momentum, got true");
  auto s = sched::make_scheduler(
      {{"type", "OneCycleLR"}, {"max_lr", 0.1}, {"total_steps", 5}, {"cycle_momentum", false}},
      plain);
  s->step();
  EXPECT_EQ(plain.momenta(), std::vector<double>{0.9});  // untouched
}

TEST(SchedulerBase, LaterSchedulersStartFromTheInitialLr) {
  FakeOptimizer opt({0.1});
  {
    sched::ConstantLR first(opt, 0.5, 4);
    EXPECT_EQ(opt.lrs(), std::vector<double>{0.05});
    // PyTorch's initial_lr: the second scheduler's base is 0.1, not 0.05.
    sched::StepLR second(opt, 2);
    EXPECT_EQ(second.base_lrs(), std::vector<double>{0.1});
  }
  // With no scheduler left over the optimizer, the record is gone.
  opt.set_lr(0, 0.3);
  sched::StepLR third(opt, 2);
  EXPECT_EQ(third.base_lrs(), std::vector<double>{0.3});
}

TEST(SchedulerBase, OneCycleLRRefusesToRunPastItsEnd) {
  FakeOptimizer opt({0.1});
  sched::OneCycleLR s(opt, sched::OneCycleLROptions({0.1}).total_steps(3));
  for (int t = 0; t < 3; ++t) s.step();  // PyTorch allows last_epoch == total_steps
  EXPECT_EQ(error_of([&] { s.step(); }),
            "OneCycleLR: tried to step 5 times; total_steps is 3 (make the cycle as long as the "
            "run)");
}

TEST(SchedulerBase, CompositesAndPlateauRefuseMisuse) {
  FakeOptimizer opt({0.1});
  sched::ReduceLROnPlateau plateau(opt);
  EXPECT_EQ(error_of([&] { plateau.step(); }),
            "ReduceLROnPlateau: step() needs the monitored metric; call step(metric)");
  FakeOptimizer other({0.1});
  std::vector<std::unique_ptr<sched::LRScheduler>> children;
  children.push_back(std::make_unique<sched::ExponentialLR>(other, 0.9));
  EXPECT_EQ(error_of([&] { sched::SequentialLR(opt, std::move(children), {}); }),
            "SequentialLR.schedulers[0]: drives another optimizer; all must drive the same one");
}

TEST(SchedulerNoise, SplitMixNormalIsDeterministicAndStandard) {
  double sum = 0, sum2 = 0;
  const int n = 20000;
  for (int t = 0; t < n; ++t) {
    const double z = sched::standard_normal(11, uint64_t(t));
    EXPECT_EQ(z, sched::standard_normal(11, uint64_t(t)));
    sum += z;
    sum2 += z * z;
  }
  // Mean 0 and variance 1 to within a few standard errors.
  EXPECT_NEAR(sum / n, 0.0, 0.03);
  EXPECT_NEAR(sum2 / n, 1.0, 0.04);
  EXPECT_NE(sched::standard_normal(11, 0), sched::standard_normal(12, 0));
}

}  // namespace
}  // namespace danlu::testing
