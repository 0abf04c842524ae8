// `danlu compare`: one config trained with several optimizers, or one
// optimizer at several learning rates, from the same initial weights and the
// same data order (the config's seed fixes both), as the tuning guide's
// optimizer comparison and manual learning-rate search. Each trial is a run
// directory (train/trials.h); the results become one table with each
// curve's diagnosis (train/diagnose.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/config.h"
#include "train/trials.h"

namespace danlu::train {

// The optimizers compare knows, by the name the command takes, with the
// rate each starts from unless told otherwise:
//   sgd 0.1, momentum 0.01 (SGD, momentum 0.9), nesterov 0.01 (and Nesterov),
//   adam 0.001, adamw 0.001, rmsprop 0.001, adagrad 0.01, adadelta 1, swats 0.001
struct OptimizerPreset {
  std::string name;
  nlohmann::json section;  // the config's "optimizer" section, with its default lr
};
const std::vector<OptimizerPreset>& optimizer_presets();

// "adam" or "adam@0.003" (that rate instead of the preset's).
struct OptimizerChoice {
  std::string name;
  double lr = 0;
};
OptimizerChoice parse_optimizer_choice(const std::string& text);

struct CompareOptions {
  std::vector<OptimizerChoice> optimizers;  // empty: the config's own optimizer
  std::vector<double> lrs;                  // every optimizer at each of these; empty: its own
  int64_t epochs = 0;                       // 0: the config's
};

// One trial per optimizer and rate, named "<optimizer>-lr<rate>" ("config"
// for the config's own optimizer): `config` with its optimizer section
// replaced (weight_decay and lr_scaling carried over, so that every trial is
// regularised alike) and its epochs set. A scheduler with rates of its own
// (OneCycleLR's max_lr, ...) would give every trial the same rates, so it is
// refused with a one-line error.
std::vector<Trial> compare_trials(const TrainConfig& config, const CompareOptions& options);

// A trial's row: the result, the optimizer and rate it ran with, and the
// verdict on its loss curve.
struct CompareRow {
  TrialResult result;
  std::string optimizer;  // the trial config's optimizer.type (+ momentum/Nesterov)
  double lr = 0;
  std::string verdict, diagnosis;  // "healthy", ... and the paragraph; empty when it failed
};

// The row of a finished (or failed) trial.
CompareRow compare_row(const Trial& trial, TrialResult result);

// The default target of the "epochs to reach" column: one point below the
// best accuracy any trial reached (0 when none finished).
double default_target(const std::vector<CompareRow>& rows);

// The leaderboard, best accuracy first (failed trials last), as Markdown and as CSV.
std::string compare_markdown(const std::vector<CompareRow>& rows, double target);
std::string compare_csv(const std::vector<CompareRow>& rows, double target);

}  // namespace danlu::train
