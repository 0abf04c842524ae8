// `danlu compare`'s pieces: optimizer choices, the trials built from a
// config (names, carried options, refused schedules), trials run for real
// on a slice of Fashion-MNIST (run, read again, resumed with more epochs,
// stopped, failed), and the leaderboard's order and columns.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/error_of.h"
#include "tests/support/test_directory.h"
#include "train/compare.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;
using danlu::testing::error_of;
using nlohmann::json;

// 256 training images in batches of 64: 4 steps per epoch.
json small_config() {
  return {{"model", {{"preset", "fashion_cnn"}}},
          {"data", {{"train_limit", 256}, {"test_limit", 128}, {"num_workers", 0}}},
          {"batch_size", 64},
          {"epochs", 1},
          {"optimizer", {{"type", "SGD"}, {"lr", 0.02}, {"momentum", 0.9},
                         {"weight_decay", 0.0005}}},
          {"scheduler", {{"type", "CosineAnnealingLR"}, {"T_max", 8}}},
          {"log_every", 1}};
}

TEST(Compare, OptimizerChoicesTakeThePresetRateOrTheirOwn) {
  EXPECT_EQ(parse_optimizer_choice("adam").lr, 0.001);
  EXPECT_EQ(parse_optimizer_choice("sgd").lr, 0.1);
  EXPECT_EQ(parse_optimizer_choice("adadelta").lr, 1.0);
  const OptimizerChoice c = parse_optimizer_choice("nesterov@0.05");
  EXPECT_EQ(c.name, "nesterov");
  EXPECT_EQ(c.lr, 0.05);
  EXPECT_EQ(error_of([] { parse_optimizer_choice("adamm"); }),
            "--optimizers: unknown optimizer \"adamm\"; expected one of sgd, momentum, nesterov, "
            "adam, adamw, rmsprop, adagrad, adadelta, swats (optionally with @lr, e.g. "
            "adam@0.003)");
  EXPECT_EQ(error_of([] { parse_optimizer_choice("adam@fast"); }),
            "--optimizers: \"adam@fast\": expected a learning rate > 0 after '@', e.g. adam@0.003");
  EXPECT_NE(error_of([] { parse_optimizer_choice("adam@-1"); }), "no error");
}

TEST(Compare, TrialsReplaceTheOptimizerAndCarryItsRegularisation) {
  CompareOptions o;
  o.optimizers = {parse_optimizer_choice("sgd"), parse_optimizer_choice("nesterov"),
                  parse_optimizer_choice("adam@0.003")};
  o.epochs = 3;
  const std::vector<Trial> trials = compare_trials(parse_config(small_config()), o);
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].name, "sgd-lr0.1");
  EXPECT_EQ(trials[1].name, "nesterov-lr0.01");
  EXPECT_EQ(trials[2].name, "adam-lr0.003");
  EXPECT_EQ(trials[0].config.json["optimizer"],
            json({{"type", "SGD"}, {"lr", 0.1}, {"weight_decay", 0.0005}}));
  EXPECT_EQ(trials[1].config.json["optimizer"],
            json({{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}, {"nesterov", true},
                  {"weight_decay", 0.0005}}));
  EXPECT_EQ(trials[2].config.json["optimizer"]["type"], "Adam");
  for (const Trial& t : trials) {
    EXPECT_EQ(t.config.epochs, 3);
    EXPECT_EQ(t.config.seed, trials[0].config.seed);  // the same weights and data order
    EXPECT_EQ(t.config.json["scheduler"], small_config()["scheduler"]);
  }
}

TEST(Compare, RatesGridTheConfigsOwnOptimizerOrEachChosenOne) {
  CompareOptions o;
  o.lrs = {0.1, 0.01};
  const std::vector<Trial> own = compare_trials(parse_config(small_config()), o);
  ASSERT_EQ(own.size(), 2u);
  EXPECT_EQ(own[0].name, "config-lr0.1");
  EXPECT_EQ(own[1].name, "config-lr0.01");
  EXPECT_EQ(own[1].config.json["optimizer"]["momentum"], 0.9);
  EXPECT_EQ(own[1].config.json["optimizer"]["lr"], 0.01);

  o.optimizers = {parse_optimizer_choice("adam"), parse_optimizer_choice("rmsprop")};
  o.lrs = {0.01, 1e-5};
  const std::vector<Trial> grid = compare_trials(parse_config(small_config()), o);
  ASSERT_EQ(grid.size(), 4u);
  EXPECT_EQ(grid[1].name, "adam-lr1e-05");
  EXPECT_EQ(grid[3].name, "rmsprop-lr1e-05");
  EXPECT_EQ(grid[3].config.json["optimizer"]["lr"], 1e-5);
}

TEST(Compare, RefusesSchedulesWithRatesOfTheirOwnAndRepeatedTrials) {
  json one_cycle = small_config();
  one_cycle["scheduler"] = {{"type", "OneCycleLR"}, {"max_lr", 0.1}, {"total_steps", 8}};
  CompareOptions o;
  o.optimizers = {parse_optimizer_choice("sgd")};
  EXPECT_EQ(error_of([&] { compare_trials(parse_config(one_cycle), o); }),
            "scheduler.max_lr: the schedule sets learning rates of its own, so every trial would "
            "train at the same rates; compare with a schedule relative to the optimizer's lr "
            "(e.g. --set 'scheduler={\"type\":\"CosineAnnealingLR\",\"T_max\":1000}')");
  o.optimizers = {parse_optimizer_choice("sgd"), parse_optimizer_choice("sgd")};
  EXPECT_EQ(error_of([&] { compare_trials(parse_config(small_config()), o); }),
            "compare: the trial sgd-lr0.1 appears twice; give each optimizer and rate once");
}

TEST(Compare, TrialNamesAreSafeDirectoryNames) {
  check_trial_name("adam-lr1e-05");
  EXPECT_NE(error_of([] { check_trial_name("../up"); }), "no error");
  EXPECT_NE(error_of([] { check_trial_name(""); }), "no error");
}

using Trials = testing::TestDirectory;

TEST_F(Trials, RunThenReadThenResumeWithMoreEpochs) {
  Trial t{"sgd-lr0.02", parse_config(small_config())};
  const TrialResult first = run_trial(t, dir_.string(), Device::cpu());
  ASSERT_EQ(first.state, TrialState::ran) << first.error;
  EXPECT_EQ(first.epochs, 1);
  EXPECT_EQ(first.history.size(), 1u);
  EXPECT_GT(first.final_accuracy, 0.0);
  EXPECT_EQ(first.end, "finished");

  // The same config again: read, not trained (the metrics are not touched).
  const auto size = fs::file_size(dir_ / t.name / "metrics.jsonl");
  const TrialResult again = run_trial(t, dir_.string(), Device::cpu());
  EXPECT_EQ(again.state, TrialState::done_before);
  EXPECT_EQ(again.final_accuracy, first.final_accuracy);
  EXPECT_EQ(fs::file_size(dir_ / t.name / "metrics.jsonl"), size);

  // One more epoch: continued from the checkpoint, not started afresh.
  json longer = small_config();
  longer["epochs"] = 2;
  t.config = parse_config(longer);
  const TrialResult more = run_trial(t, dir_.string(), Device::cpu());
  ASSERT_EQ(more.state, TrialState::resumed) << more.error;
  EXPECT_EQ(more.epochs, 2);
  ASSERT_EQ(more.history.size(), 2u);
  EXPECT_EQ(more.history[0].test_accuracy, first.history[0].test_accuracy);
  EXPECT_EQ(more.final_accuracy, *more.history[1].test_accuracy);
  EXPECT_EQ(epoch_reaching(more, 0.0), 1);
  EXPECT_EQ(epoch_reaching(more, 1.01), 0);

  // Asked for one epoch again: the 2-epoch run is read up to epoch 1.
  t.config = parse_config(small_config());
  const TrialResult shorter = run_trial(t, dir_.string(), Device::cpu());
  EXPECT_EQ(shorter.state, TrialState::done_before);
  EXPECT_EQ(shorter.epochs, 1);
  ASSERT_EQ(shorter.history.size(), 1u);
  EXPECT_EQ(shorter.final_accuracy, first.final_accuracy);

  // Another config in the same directory is not a result of this one.
  json other = small_config();
  other["optimizer"]["lr"] = 0.01;
  t.config = parse_config(other);
  const TrialResult refused = run_trial(t, dir_.string(), Device::cpu());
  EXPECT_EQ(refused.state, TrialState::failed);
  EXPECT_NE(refused.error.find("optimizer.lr"), std::string::npos) << refused.error;
}

TEST_F(Trials, AStoppedTrialIsNotAResultAndAFailedOneSaysWhy) {
  Trial t{"stopped", parse_config(small_config())};
  const std::atomic<bool> stop{true};
  const TrialResult stopped = run_trial(t, dir_.string(), Device::cpu(), &stop);
  EXPECT_EQ(stopped.state, TrialState::failed);
  EXPECT_EQ(stopped.error, "stopped before it finished; run the same command again to resume it");
  EXPECT_FALSE(read_trial_result((dir_ / "stopped").string()));
  const TrialResult resumed = run_trial(t, dir_.string(), Device::cpu());
  EXPECT_EQ(resumed.state, TrialState::resumed) << resumed.error;

  json bad = small_config();
  bad["optimizer"]["momentum"] = -1;
  const TrialResult failed = run_trial({"bad", parse_config(bad)}, dir_.string(), Device::cpu());
  EXPECT_EQ(failed.state, TrialState::failed);
  EXPECT_NE(failed.error.find("optimizer.momentum"), std::string::npos) << failed.error;
}

TrialResult result(const std::string& name, TrialState state, double best, double final,
                   std::vector<double> accuracy) {
  TrialResult r;
  r.name = name, r.dir = "/nonexistent/" + name, r.state = state;
  r.best_accuracy = best, r.final_accuracy = final, r.seconds = 75, r.images_per_s = 1500;
  r.best_epoch = static_cast<int64_t>(accuracy.size());
  for (size_t i = 0; i < accuracy.size(); ++i) {
    EpochScore e;
    e.epoch = int64_t(i) + 1, e.test_accuracy = accuracy[i];
    r.history.push_back(e);
  }
  if (state == TrialState::failed) r.error = "optimizer.lr: expected a number >= 0, got -1";
  return r;
}

TEST(CompareTable, BestFirstFailedLastWithTheEpochThatReachedTheTarget) {
  CompareOptions o;
  o.optimizers = {parse_optimizer_choice("sgd"), parse_optimizer_choice("momentum"),
                  parse_optimizer_choice("adam")};
  const std::vector<Trial> trials = compare_trials(parse_config(small_config()), o);
  std::vector<CompareRow> rows;
  rows.push_back(compare_row(trials[0], result("sgd-lr0.1", TrialState::ran, 0.85, 0.85,
                                               {0.80, 0.85})));
  rows.push_back(compare_row(trials[1], result("momentum-lr0.01", TrialState::failed, 0, 0, {})));
  rows.push_back(compare_row(trials[2], result("adam-lr0.001", TrialState::done_before, 0.90,
                                               0.89, {0.89, 0.90})));
  EXPECT_DOUBLE_EQ(default_target(rows), 0.89);
  EXPECT_EQ(rows[0].verdict, "unread");  // no metrics in /nonexistent
  EXPECT_EQ(rows[1].optimizer, "SGD momentum 0.9");
  const std::string md = compare_markdown(rows, 0.85);
  const size_t adam = md.find("| adam-lr0.001 | Adam | 0.001 | 89.00% | 90.00% (2) | 1 | 1:15 "
                              "| 1500 | unread |");
  const size_t sgd = md.find("| sgd-lr0.1 | SGD | 0.1 | 85.00% | 85.00% (2) | 2 |");
  const size_t momentum = md.find("| momentum-lr0.01 | SGD momentum 0.9 | 0.01 | - | - | - | - "
                                  "| - | failed: optimizer.lr: expected a number >= 0, got -1 |");
  ASSERT_NE(adam, std::string::npos) << md;
  ASSERT_NE(sgd, std::string::npos) << md;
  ASSERT_NE(momentum, std::string::npos) << md;
  EXPECT_LT(adam, sgd);
  EXPECT_LT(sgd, momentum);
  EXPECT_NE(md.find("| epoch to 85.0% |"), std::string::npos) << md;

  const std::string csv = compare_csv(rows, 0.85);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "trial,optimizer,lr,state,final_accuracy,best_accuracy,best_epoch,epoch_to_target,"
            "target,seconds,images_per_s,verdict,error");
  EXPECT_NE(csv.find("\nadam-lr0.001,\"Adam\",0.001,\"done before\",0.890000,0.900000,2,1,"
                     "0.850000,75.000,1500.00,\"unread\",\"\"\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\"failed\""), std::string::npos) << csv;
}

}  // namespace
}  // namespace danlu::train
