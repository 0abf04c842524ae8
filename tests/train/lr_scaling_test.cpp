// optimizer.lr_scaling: the linear and square-root rules, the global batch
// over data-parallel ranks, warmup scaling, the header line, bad input, and
// resume (no second scaling, no change allowed), and a real run's header and
// metrics.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "train/config.h"
#include "train/lr_scaling.h"
#include "train/resume_check.h"
#include "train/session.h"
#include "train/trainer.h"

namespace danlu::train {
namespace {

using nlohmann::json;

// Param groups' learning rates and nothing else.
class Rates : public sched::LrTarget {
 public:
  explicit Rates(std::vector<double> lrs) : lrs_(std::move(lrs)) {}
  size_t num_param_groups() const override { return lrs_.size(); }
  double lr(size_t g) const override { return lrs_[g]; }
  void set_lr(size_t g, double lr) override { lrs_[g] = lr; }

 private:
  std::vector<double> lrs_;
};

LrScaling scaling(const std::string& rule, int64_t reference = 128, bool warmup = false) {
  json optimizer = {{"lr_scaling", {{"rule", rule}, {"reference_batch", reference},
                                    {"warmup", warmup}}}};
  return *take_lr_scaling(optimizer);
}

// The warmup of configs/fashion_cnn.json: one epoch of 468 steps at batch 128.
json warmup_then_cosine() {
  return json::parse(R"({"type": "SequentialLR", "milestones": [468], "schedulers": [
      {"type": "LinearLR", "start_factor": 0.1, "total_iters": 468},
      {"type": "CosineAnnealingLR", "T_max": 6552}]})");
}

std::string error_of(const json& user) {
  try {
    make_session(parse_config(user), Device::cpu(), {1, 28, 28}, 10);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

json with_scaling(const json& lr_scaling) {
  return {{"optimizer", {{"type", "SGD"}, {"lr", 0.1}, {"lr_scaling", lr_scaling}}}};
}

TEST(LrScaling, LinearRuleIsBatchOverReference) {
  const LrScaling s = scaling("linear");
  EXPECT_DOUBLE_EQ(lr_factor(s, 32), 0.25);
  EXPECT_DOUBLE_EQ(lr_factor(s, 128), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(s, 256), 2.0);
  EXPECT_DOUBLE_EQ(lr_factor(s, 1024), 8.0);
}

TEST(LrScaling, SqrtRuleIsItsSquareRoot) {
  const LrScaling s = scaling("sqrt");
  EXPECT_DOUBLE_EQ(lr_factor(s, 32), 0.5);
  EXPECT_DOUBLE_EQ(lr_factor(s, 128), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(s, 256), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(lr_factor(s, 512), 2.0);
}

TEST(LrScaling, ScalesEveryGroupByItsOwnRate) {
  for (const auto& [rule, factor] : {std::pair{"linear", 4.0}, std::pair{"sqrt", 2.0}}) {
    Rates rates({0.1, 0.01, 0.5});
    json scheduler;
    const json record = apply_lr_scaling(scaling(rule), 512, 1, rates, scheduler);
    EXPECT_DOUBLE_EQ(rates.lr(0), 0.1 * factor) << rule;
    EXPECT_DOUBLE_EQ(rates.lr(1), 0.01 * factor) << rule;
    EXPECT_DOUBLE_EQ(rates.lr(2), 0.5 * factor) << rule;
    EXPECT_EQ(record["kind"], "lr_scaling");
    EXPECT_EQ(record["lr_before"], json({0.1, 0.01, 0.5}));
    EXPECT_DOUBLE_EQ(record["factor"].get<double>(), factor);
  }
}

TEST(LrScaling, HeaderLineSaysWhatWasScaledAndWhy) {
  Rates one({0.1});
  json scheduler;
  EXPECT_EQ(apply_lr_scaling(scaling("linear"), 512, 1, one, scheduler)["text"],
            "lr scaling (linear, reference batch 128): batch 512 -> lr x4: 0.1 -> 0.4 in every "
            "group");
  Rates two({0.1, 0.01});
  EXPECT_EQ(apply_lr_scaling(scaling("sqrt"), 32, 1, two, scheduler)["text"],
            "lr scaling (sqrt, reference batch 128): batch 32 -> lr x0.5 in every group: "
            "0.1, 0.01 -> 0.05, 0.005");
}

TEST(LrScaling, ReferenceBatchChangesNothing) {
  Rates rates({0.1, 0.01});
  json scheduler = warmup_then_cosine();
  const json record = apply_lr_scaling(scaling("linear", 128, true), 128, 1, rates, scheduler);
  EXPECT_EQ(rates.lr(0), 0.1);
  EXPECT_EQ(rates.lr(1), 0.01);
  EXPECT_EQ(scheduler, warmup_then_cosine());
  EXPECT_EQ(record["text"],
            "lr scaling (linear, reference batch 128): batch 128 is the reference: lr unchanged");
}

TEST(LrScaling, GlobalBatchCountsEveryRank) {
  Rates rates({0.1});
  json scheduler;
  const json record = apply_lr_scaling(scaling("linear"), 128, 4, rates, scheduler);
  EXPECT_DOUBLE_EQ(rates.lr(0), 0.4);
  EXPECT_EQ(record["batch"], 512);
  EXPECT_EQ(record["ranks"], 4);
  EXPECT_EQ(record["text"],
            "lr scaling (linear, reference batch 128): batch 512 (128 x 4 ranks) -> lr x4: "
            "0.1 -> 0.4 in every group");
  // 64 images on each of 2 ranks is the reference batch.
  Rates same({0.1});
  apply_lr_scaling(scaling("sqrt"), 64, 2, same, scheduler);
  EXPECT_EQ(same.lr(0), 0.1);
  EXPECT_THROW(apply_lr_scaling(scaling("linear"), int64_t{1} << 62, 4, same, scheduler), Error);
}

TEST(LrScaling, WarmupCoversTheSameImages) {
  EXPECT_EQ(scaled_warmup_steps(scaling("linear"), 468, 512), 117);
  EXPECT_EQ(scaled_warmup_steps(scaling("linear"), 468, 64), 936);
  EXPECT_EQ(scaled_warmup_steps(scaling("sqrt"), 468, 512), 117);  // images, whatever the rule
  EXPECT_EQ(scaled_warmup_steps(scaling("linear"), 10, 384), 3);    // 3.33 rounds to 3
  EXPECT_EQ(scaled_warmup_steps(scaling("linear"), 1, 100000), 1);  // at least one step

  Rates rates({0.1});
  json scheduler = warmup_then_cosine();
  const json record = apply_lr_scaling(scaling("linear", 128, true), 512, 1, rates, scheduler);
  EXPECT_EQ(scheduler["schedulers"][0]["total_iters"], 117);
  EXPECT_EQ(scheduler["milestones"][0], 117);
  EXPECT_EQ(scheduler["schedulers"][1], warmup_then_cosine()["schedulers"][1]);
  EXPECT_EQ(record["warmup"], "warmup 468 -> 117 steps (the same images)");
  EXPECT_NE(record["text"].get<std::string>().find("; warmup 468 -> 117 steps"),
            std::string::npos);
}

TEST(LrScaling, WarmupIsLeftAloneUnlessAsked) {
  Rates rates({0.1});
  json scheduler = warmup_then_cosine();
  apply_lr_scaling(scaling("linear", 128, false), 512, 1, rates, scheduler);
  EXPECT_EQ(scheduler, warmup_then_cosine());
  json by_epoch = warmup_then_cosine();
  by_epoch["interval"] = "epoch";  // epochs hold the same images at any batch
  const json record = apply_lr_scaling(scaling("linear", 128, true), 512, 1, rates, by_epoch);
  EXPECT_EQ(by_epoch["milestones"][0], 468);
  EXPECT_EQ(record["warmup"], "warmup counted in epochs: unchanged");
}

TEST(LrScaling, WarmupNeedsOneToScale) {
  Rates rates({0.1});
  json none;
  EXPECT_THROW(
      {
        try {
          apply_lr_scaling(scaling("linear", 128, true), 512, 1, rates, none);
        } catch (const Error& e) {
          EXPECT_STREQ(e.what(),
                       "optimizer.lr_scaling.warmup: true, but the config has no scheduler; set "
                       "it to false or add a warmup (docs/training.md)");
          throw;
        }
      },
      Error);
  json cosine = {{"type", "CosineAnnealingLR"}, {"T_max", 100}};
  EXPECT_THROW(apply_lr_scaling(scaling("linear", 128, true), 512, 1, rates, cosine), Error);
}

TEST(LrScaling, RefusesSchedulesWithTheirOwnRates) {
  const std::string e = error_of(
      {{"batch_size", 256},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.1},
                      {"lr_scaling", {{"rule", "linear"}, {"reference_batch", 128}}}}},
       {"scheduler", {{"type", "OneCycleLR"}, {"max_lr", 0.5}, {"total_steps", 100}}}});
  EXPECT_EQ(e, "scheduler.max_lr: a learning rate of the schedule's own, which "
               "optimizer.lr_scaling does not scale; multiply it by 2 yourself and remove "
               "optimizer.lr_scaling, or use a schedule relative to the optimizer's lr");
}

TEST(LrScaling, BadInputNamesTheJsonPath) {
  EXPECT_EQ(error_of(with_scaling("linear")),
            "optimizer.lr_scaling: expected an object such as {\"rule\": \"linear\", "
            "\"reference_batch\": 128}, got \"linear\"");
  EXPECT_EQ(error_of(with_scaling({{"rule", "linear"}, {"reference_batch", 128}, {"epochs", 5}})),
            "optimizer.lr_scaling.epochs: unknown key; expected one of rule, reference_batch, "
            "warmup");
  EXPECT_EQ(error_of(with_scaling({{"rule", "cubic"}, {"reference_batch", 128}})),
            "optimizer.lr_scaling.rule: expected \"linear\" or \"sqrt\", got \"cubic\"");
  EXPECT_EQ(error_of(with_scaling({{"reference_batch", 128}})),
            "optimizer.lr_scaling.rule: expected \"linear\" or \"sqrt\", got nothing");
  const std::string reference =
      "optimizer.lr_scaling.reference_batch: expected an integer >= 1 (the batch size the "
      "learning rates were tuned at), got ";
  EXPECT_EQ(error_of(with_scaling({{"rule", "sqrt"}})), reference + "nothing");
  EXPECT_EQ(error_of(with_scaling({{"rule", "sqrt"}, {"reference_batch", 0}})), reference + "0");
  EXPECT_EQ(error_of(with_scaling({{"rule", "sqrt"}, {"reference_batch", 12.5}})),
            reference + "12.5");
  EXPECT_EQ(error_of(with_scaling({{"rule", "sqrt"}, {"reference_batch", 64}, {"warmup", "yes"}})),
            "optimizer.lr_scaling.warmup: expected true or false, got \"yes\"");
}

TEST(LrScaling, SessionScalesTheOptimizerAndTheScheduler) {
  const TrainConfig c = parse_config(
      {{"batch_size", 512},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.1},
                      {"lr_scaling", {{"rule", "linear"}, {"reference_batch", 128},
                                      {"warmup", true}}}}},
       {"param_groups", {{{"params", "0"}, {"lr", 0.01}}}},
       {"scheduler", warmup_then_cosine()}});
  const Session s = make_session(c, Device::cpu(), {1, 28, 28}, 10);
  ASSERT_EQ(s.optimizer->num_param_groups(), 2u);
  // LinearLR starts at 0.1 of each group's scaled rate.
  EXPECT_NEAR(s.optimizer->lr(0), 0.1 * 0.04, 1e-12);
  EXPECT_NEAR(s.optimizer->lr(1), 0.1 * 0.4, 1e-12);
  EXPECT_EQ(s.lr_scaling["lr"], json({0.04, 0.4}));
  EXPECT_EQ(s.lr_scaling["warmup"], "warmup 468 -> 117 steps (the same images)");
  // The config keeps what the user wrote: config.json describes the run, unscaled.
  EXPECT_EQ(s.config.json["optimizer"]["lr"], 0.1);
  EXPECT_EQ(s.config.json["scheduler"], warmup_then_cosine());
}

TEST(LrScaling, ResumeDoesNotScaleTwice) {
  const TrainConfig c = parse_config(
      {{"batch_size", 256},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.1},
                      {"lr_scaling", {{"rule", "linear"}, {"reference_batch", 128}}}}}});
  const Session saved = make_session(c, Device::cpu(), {1, 28, 28}, 10);
  EXPECT_DOUBLE_EQ(saved.optimizer->lr(0), 0.2);
  saved.optimizer->set_lr(0, 0.05);  // where a schedule had taken it by the checkpoint
  const optim::OptimizerState checkpoint = saved.optimizer->state_dict();
  EXPECT_EQ(checkpoint.meta["param_groups"][0]["lr"], 0.05);
  // A resume builds a scaled session, then the checkpoint's rate replaces the scaled one.
  const Session resumed = make_session(c, Device::cpu(), {1, 28, 28}, 10);
  resumed.optimizer->load_state_dict(checkpoint);
  EXPECT_DOUBLE_EQ(resumed.optimizer->lr(0), 0.05);
}

TEST(LrScaling, MayNotChangeOnResume) {
  const json saved =
      parse_config(with_scaling({{"rule", "linear"}, {"reference_batch", 128}})).json;
  EXPECT_TRUE(check_resume_config(saved, saved, "run/last.safetensors").empty());
  const json now = parse_config(with_scaling({{"rule", "sqrt"}, {"reference_batch", 128}})).json;
  try {
    check_resume_config(saved, now, "run/last.safetensors");
    FAIL() << "a changed lr_scaling was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer.lr_scaling.rule \"linear\" -> \"sqrt\" would "
                                         "be ignored on resume"),
              std::string::npos)
        << e.what();
  }
}

std::vector<json> metrics_of(const std::filesystem::path& run) {
  std::vector<json> records;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) records.push_back(json::parse(line));
  return records;
}

TEST(LrScaling, RunPrintsItAndResumeKeepsTheScaledRate) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("danlu_lr_scaling_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  json user = {{"data", {{"train_limit", 256}, {"test_limit", 100}, {"num_workers", 0}}},
               {"batch_size", 64},
               {"max_steps", 2},
               {"log_every", 1},
               {"optimizer", {{"type", "SGD"}, {"lr", 0.02},
                              {"lr_scaling", {{"rule", "linear"}, {"reference_batch", 32}}}}}};
  RunOptions o;
  o.run_dir = dir.string();
  ::testing::internal::CaptureStdout();
  run_training(parse_config(user), Device::cpu(), o);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("lr scaling (linear, reference batch 32): batch 64 -> lr x2: 0.02 -> 0.04 "
                     "in every group\n"),
            std::string::npos)
      << out;

  user["max_steps"] = 3;
  o.resume = (dir / "last.safetensors").string();
  ::testing::internal::CaptureStdout();
  run_training(parse_config(user), Device::cpu(), o);
  ::testing::internal::GetCapturedStdout();
  std::vector<json> lr_records, step_lrs;
  for (const json& r : metrics_of(dir)) {
    if (r["kind"] == "lr_scaling") lr_records.push_back(r);
    if (r["kind"] == "step") step_lrs.push_back(r["lr"]);
  }
  ASSERT_EQ(lr_records.size(), 1u);  // the resumed run adds none
  EXPECT_EQ(lr_records[0]["lr"], json({0.04}));
  EXPECT_EQ(step_lrs, std::vector<json>(3, json({0.04})));  // step 3 too: scaled once
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace danlu::train
