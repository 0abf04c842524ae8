// Schedulers from JSON specs: {"type": NAME, ...parameters...} with the
// source library's class and parameter names, e.g.
//   {"type": "CosineAnnealingLR", "T_max": 90, "eta_min": 1e-5}
//   {"type": "SequentialLR", "milestones": [5], "schedulers": [
//       {"type": "LinearLR", "start_factor": 0.1, "total_iters": 5},
//       {"type": "CosineAnnealingLR", "T_max": 85}]}
//   {"type": "StepLR", "step_size": 30, "interval": "epoch", "iterations_per_epoch": 469}
// Unknown types or keys, missing or out-of-range parameters are one-line
// danlu::Errors naming the JSON field and what it allows.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "schedulers/scheduler.h"

namespace danlu::sched {

// The scheduler `spec` describes, to be stepped once per iteration. The
// outermost spec may say "interval": "step" (the default: the schedule counts
// iterations) or "epoch" (it counts epochs, and advances once every
// iterations_per_epoch steps: the spec's value, or else the argument's).
// `path` names the spec in errors. On error the target's lrs and momentum
// are left as they were.
std::unique_ptr<LRScheduler> make_scheduler(const nlohmann::json& spec, LrTarget& target,
                                            int64_t iterations_per_epoch = 0,
                                            const std::string& path = "scheduler");

// The "type" names make_scheduler() accepts.
std::vector<std::string> scheduler_types();

}  // namespace danlu::sched
