// Each loss-curve verdict from a real run: one-epoch trainings of a small
// MLP on slices of Fashion-MNIST with a learning rate far too high, far too
// low and about right, and a training set of 64 images trained for 20 epochs;
// and the Fashion CNN collapsed by a rate far too high. About 15 s in all on
// two cores.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "train/diagnose.h"
#include "train/trainer.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json config(int64_t train_images, int64_t epochs, double lr) {
  return {{"model", {{"preset", "mlp"}, {"in_features", 784}, {"hidden", {256}}, {"num_classes", 10}}},
          {"data", {{"train_limit", train_images}, {"test_limit", 300}, {"num_workers", 0}}},
          {"batch_size", 32},
          {"eval_batch_size", 300},
          {"epochs", epochs},
          {"optimizer", {{"type", "SGD"}, {"lr", lr}, {"momentum", 0.9}}},
          {"log_every", 2},
          {"monitor", {{"every", 4}}}};
}

Diagnosis train_and_diagnose(const json& user, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("danlu_diagnose_" + name + "_" + std::to_string(::getpid()));
  RunOptions options{dir.string(), "", false, nullptr};
  options.overwrite = true;
  run_training(parse_config(user), Device::cpu(), options);
  const Diagnosis d = diagnose(read_history(dir.string()));
  fs::remove_all(dir);
  return d;
}

TEST(DiagnoseRuns, LearningRate10Diverges) {
  const Diagnosis d = train_and_diagnose(config(256, 1, 10), "lr10");
  EXPECT_EQ(d.verdict, Verdict::diverged) << to_text(d);
  EXPECT_NE(d.advice.find("--set optimizer.lr=1)"), std::string::npos) << d.advice;
}

TEST(DiagnoseRuns, LearningRate1e5IsTooSlow) {
  const Diagnosis d = train_and_diagnose(config(512, 1, 1e-5), "lr1e-5");
  EXPECT_EQ(d.verdict, Verdict::too_slow) << to_text(d);
  EXPECT_NE(d.advice.find("--set optimizer.lr=5e-05)"), std::string::npos) << d.advice;
}

// The Fashion CNN at lr 1: its loss spikes, then BatchNorm holds it finite
// at ln 10 (docs/tuning.md, the manual learning-rate search).
TEST(DiagnoseRuns, LearningRate1CollapsesTheCnn) {
  json cnn = config(1920, 1, 1);
  cnn["model"] = {{"preset", "fashion_cnn"}};
  cnn["batch_size"] = 64;
  cnn["scheduler"] = {{"type", "CosineAnnealingLR"}, {"T_max", 30}};
  const Diagnosis d = train_and_diagnose(cnn, "collapse");
  EXPECT_EQ(d.verdict, Verdict::diverged) << to_text(d);
  EXPECT_NE(d.evidence.find("= ln 10 by step 30, the loss of the same prediction for every input"),
            std::string::npos)
      << d.evidence;
  EXPECT_NE(d.advice.find("--set optimizer.lr=0.1)"), std::string::npos) << d.advice;
}

TEST(DiagnoseRuns, AGoodLearningRateIsHealthy) {
  json good = config(1024, 1, 0.05);
  good["scheduler"] = {{"type", "CosineAnnealingLR"}, {"T_max", 32}};
  const Diagnosis d = train_and_diagnose(good, "good");
  EXPECT_EQ(d.verdict, Verdict::healthy) << to_text(d);
}

TEST(DiagnoseRuns, ATinyTrainingSetOverfits) {
  json tiny = config(64, 20, 0.003);
  tiny["optimizer"] = {{"type", "Adam"}, {"lr", 0.003}};
  tiny["batch_size"] = 16;
  const Diagnosis d = train_and_diagnose(tiny, "tiny");
  EXPECT_EQ(d.verdict, Verdict::overfitting) << to_text(d);
  EXPECT_NE(d.advice.find("early_stopping.patience"), std::string::npos) << d.advice;
}

}  // namespace
}  // namespace danlu::train
