// The loss-curve verdicts on synthetic metric series, each with its
// evidence and advice; and reading a run directory's records.
#include "train/diagnose.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;

// A curve from a function of the step, logged every 10 steps.
RunHistory curve(int64_t steps, double (*loss)(double fraction), double lr = 0.1) {
  RunHistory run;
  for (int64_t s = 10; s <= steps; s += 10) run.steps.push_back({s, loss(double(s) / steps)});
  run.lr = run.final_lr = lr;
  return run;
}

double falling(double f) { return 2.3 * std::exp(-3 * f); }
double crawling(double f) { return 2.3 - 0.1 * f; }
double flattening(double f) { return f < 0.6 ? 2.3 - 3 * f : 0.5; }
// Over 300 steps, f * 30 counts the log records: late, they alternate.
double swinging(double f) { return f < 0.6 ? 2.3 - 3 * f : (std::lround(f * 30) % 2 ? 0.4 : 0.8); }

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Diagnose, ASteadyFallIsHealthy) {
  const Diagnosis d = diagnose(curve(200, falling));
  EXPECT_EQ(d.verdict, Verdict::healthy) << to_text(d);
  EXPECT_TRUE(has(d.evidence, "The loss fell from 1.98 at step 10 to 0.1145 at step 200.")) << d.evidence;
}

TEST(Diagnose, ThreeRecordsAreTooFewToCallARunSlow) {
  RunHistory run = curve(30, crawling);
  const Diagnosis d = diagnose(run);
  EXPECT_EQ(d.verdict, Verdict::healthy) << to_text(d);
  EXPECT_TRUE(has(d.evidence, "The loss fell from 2.267 at step 10 to 2.2 at step 30.")) << d.evidence;
  run.steps.back().loss = 2.4;
  EXPECT_TRUE(has(diagnose(run).evidence, "The loss went from 2.267")) << to_text(diagnose(run));
}

TEST(Diagnose, ANaNLossDivergedDivideTheRateBy10) {
  RunHistory run = curve(200, falling);
  run.diverged = LossPoint{57, NAN};
  const Diagnosis d = diagnose(run);
  EXPECT_EQ(d.verdict, Verdict::diverged);
  EXPECT_TRUE(has(d.evidence, "NaN or infinite at step 57")) << d.evidence;
  EXPECT_TRUE(has(d.advice, "divide it by 10 (--set optimizer.lr=0.01)")) << d.advice;
}

TEST(Diagnose, AnExplosionDiverged) {
  RunHistory run = curve(200, falling);
  run.steps[5].loss = 40;
  const Diagnosis d = diagnose(run);
  EXPECT_EQ(d.verdict, Verdict::diverged);
  EXPECT_TRUE(has(d.evidence, "exploded from 1.98 at step 10 to 40 at step 60")) << d.evidence;
}

TEST(Diagnose, AFlatLossWithTooLargeUpdatesIsNoSlowRate) {
  RunHistory run = curve(200, crawling, 5.0);
  EXPECT_EQ(diagnose(run).verdict, Verdict::too_slow);
  run.warnings = {"update_ratio_high"};
  const Diagnosis d = diagnose(run);
  EXPECT_EQ(d.verdict, Verdict::diverged);
  EXPECT_TRUE(has(d.evidence, "updates too large for the weights")) << d.evidence;
}

// What SGD at lr 0.1 to 1 does to the Fashion CNN (docs/tuning.md): the loss
// falls from its first spike to ln 10 = 2.3026 and stays there.
double collapsing(double f) { return f < 0.2 ? 6 - 18 * f : 2.3026; }

TEST(Diagnose, ALossThatSpikedThenStuckAtLnCCollapsed) {
  RunHistory run = curve(200, collapsing, 0.5);
  run.epochs.push_back({1, 200, 2.31, 2.3026, 0.1});
  const Diagnosis d = diagnose(run);
  EXPECT_EQ(d.verdict, Verdict::diverged) << to_text(d);
  EXPECT_TRUE(has(d.evidence, "The loss spiked to 5.1 at step 10, then settled at 2.303 = ln 10 "
                              "by step 200, the loss of the same prediction for every input over "
                              "10 classes (test accuracy 10.00% at epoch 1)"))
      << d.evidence;
  EXPECT_TRUE(has(d.advice, "divide it by 10 (--set optimizer.lr=0.05)")) << d.advice;
  // A trained network whose smoothed loss happens to end near ln 2 (a ViT
  // with label smoothing 0.1: 0.667 at 91.46% test accuracy) is no collapse.
  RunHistory smoothed = curve(200, [](double f) { return 2.1 - 1.43 * std::min(1.0, 2 * f); }, 1e-3);
  smoothed.epochs.push_back({1, 200, 0.67, 0.3164, 0.9146});
  EXPECT_NE(diagnose(smoothed).verdict, Verdict::diverged) << to_text(diagnose(smoothed));
  // A loss that sat near ln 10 from its first step is a rate too low.
  RunHistory slow = curve(200, crawling, 1e-5);
  for (size_t i = slow.steps.size() - 3; i < slow.steps.size(); ++i) slow.steps[i].loss = 2.31;
  EXPECT_EQ(diagnose(slow).verdict, Verdict::too_slow) << to_text(diagnose(slow));
}

TEST(Diagnose, ACrawlIsTooSlowMultiplyTheRateBy5) {
  const Diagnosis d = diagnose(curve(200, crawling, 1e-4));
  EXPECT_EQ(d.verdict, Verdict::too_slow);
  EXPECT_TRUE(has(d.evidence, "Over steps 10 to 200 the loss only went from 2.295 to 2.2 (4.1% lower)"))
      << d.evidence;
  EXPECT_TRUE(has(d.advice, "multiply it by 5 (--set optimizer.lr=0.0005)")) << d.advice;
}

TEST(Diagnose, ALatePlateauAsksForDecayUnlessTheScheduleDecayed) {
  RunHistory run = curve(300, flattening);
  const Diagnosis d = diagnose(run);
  EXPECT_EQ(d.verdict, Verdict::plateau) << to_text(d);
  EXPECT_TRUE(has(d.evidence, "(steps 210 to 300) the loss stopped improving: 0.5 then 0.5 (0.0% better)")) << d.evidence;
  EXPECT_TRUE(has(d.advice, "ReduceLROnPlateau")) << d.advice;
  run.final_lr = run.lr / 100;
  EXPECT_EQ(diagnose(run).verdict, Verdict::healthy);
}

TEST(Diagnose, ALateSwingOscillates) {
  const Diagnosis d = diagnose(curve(300, swinging));
  EXPECT_EQ(d.verdict, Verdict::oscillating) << to_text(d);
  EXPECT_TRUE(has(d.evidence, "swinging by 33.3%")) << d.evidence;
}

TEST(Diagnose, TestLossRisingWhileTrainLossFallsIsOverfitting) {
  RunHistory run = curve(400, falling);
  const double train[] = {0.9, 0.5, 0.3, 0.2, 0.1}, test[] = {0.8, 0.6, 0.62, 0.7, 0.8};
  for (int e = 0; e < 5; ++e) run.epochs.push_back({e + 1, 80 * (e + 1), train[e], test[e], 0.8});
  const Diagnosis d = diagnose(run);
  EXPECT_EQ(d.verdict, Verdict::overfitting) << to_text(d);
  EXPECT_TRUE(has(d.evidence, "lowest at epoch 2 (step 160: 0.6), then rose to 0.8 by epoch 5 "
                              "(step 400) while the train loss fell from 0.5 to 0.1; the gap "
                              "between them widened from 0.1 to 0.7"))
      << d.evidence;
  EXPECT_TRUE(has(d.advice, "early_stopping.patience")) << d.advice;
  run.epochs.resize(3);  // a single evaluation after the best may be noise
  EXPECT_EQ(diagnose(run).verdict, Verdict::healthy);
}

TEST(Diagnose, ReadsARunDirectory) {
  const fs::path dir = fs::temp_directory_path() / ("danlu_diagnose_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({"optimizer": {"type": "SGD", "lr": 0.5}})";
  std::ofstream(dir / "metrics.jsonl")
      << R"({"kind":"step","step":10,"loss":2.0,"lr":[0.5]})" << "\n"
      << R"({"kind":"monitor","step":10,"layers":[]})" << "\n"
      << R"({"kind":"warning","step":10,"condition":"dead_units","message":"..."})" << "\n"
      << R"({"kind":"epoch","epoch":1,"step":20,"train_loss":1.5,"test_loss":1.4,"test_accuracy":0.5})"
      << "\n"
      << R"({"kind":"diverged","step":23,"lr":[0.5]})" << "\n";
  const RunHistory run = read_history(dir.string());
  ASSERT_EQ(run.steps.size(), 1u);
  EXPECT_EQ(run.lr, 0.5);
  EXPECT_EQ(run.epochs.at(0).test_loss, 1.4);
  EXPECT_EQ(run.diverged->step, 23);
  EXPECT_EQ(run.warnings, std::vector<std::string>{"dead_units"});

  std::ofstream(dir / "metrics.jsonl") << R"({"kind":"step","step":10,"loss":"high"})" << "\n";
  try {
    read_history(dir.string());
    ADD_FAILURE() << "a mistyped loss was read";
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), "metrics.jsonl:1: \"loss\": expected a number, got \"high\"")) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace danlu::train
