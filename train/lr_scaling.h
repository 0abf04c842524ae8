// optimizer.lr_scaling: learning rates that follow the global batch size.
//   "lr_scaling": {"rule": "linear", "reference_batch": 128, "warmup": true}
// The config's learning rates are the ones tuned for `reference_batch` images
// a step. At a global batch B (batch_size x data-parallel ranks) every param
// group's lr is multiplied by
//   linear: B / reference        (Goyal et al. 2017, "Accurate, Large Minibatch SGD")
//   sqrt:   sqrt(B / reference)  (Krizhevsky 2014, "One weird trick for parallelizing CNNs")
// With "warmup": true a warmup counted in steps is multiplied by reference / B,
// so that it covers the same number of images, as Goyal et al.'s 5 epochs do
// at every batch size. docs/training.md has the rule and a measured example.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "schedulers/lr_target.h"

namespace danlu::train {

struct LrScaling {
  std::string rule;  // "linear" or "sqrt"
  int64_t reference_batch = 0;
  bool warmup = false;  // scale a step-counted warmup too
};

// Reads and removes "lr_scaling" from the config's "optimizer" section (the
// rest is the optimizer's options); nullopt when absent. Errors are one line
// and name the JSON path: "optimizer.lr_scaling.rule: expected ...".
std::optional<LrScaling> take_lr_scaling(nlohmann::json& optimizer);

// The lr multiplier at `global_batch` images a step.
double lr_factor(const LrScaling& s, int64_t global_batch);

// A warmup of `steps` at `global_batch`: steps x reference / global_batch,
// rounded to the nearest step, at least 1.
int64_t scaled_warmup_steps(const LrScaling& s, int64_t steps, int64_t global_batch);

// The path of the first learning rate the scheduler spec `spec` (at `path`)
// sets on its own rather than relative to the optimizer's lr, e.g.
// "scheduler.max_lr" for OneCycleLR; "" when every rate is relative.
std::string absolute_lr_path(const nlohmann::json& spec, const std::string& path);

// Applies `s` to a run of `batch_size` images a step on each of `ranks`
// ranks: every group's lr of `optimizer` and, with "warmup", the warmup of
// the scheduler spec `scheduler` (null when none), both in place, before
// the scheduler is built. Returns the metrics record (kind "lr_scaling")
// whose "text" is the run header's line:
//   "lr scaling (linear, reference batch 128): batch 512 -> lr x4: 0.1 -> 0.4 in every group"
nlohmann::json apply_lr_scaling(const LrScaling& s, int64_t batch_size, int ranks,
                                sched::LrTarget& optimizer, nlohmann::json& scheduler);

}  // namespace danlu::train
