// DANLU_SYNC_CHECK=1: how often each training step made the host wait for
// the GPU (engine/sync_check.h). A steady-state step (neither among the
// run's first kWarmupSteps, which allocate pinned buffers, nor one that
// reads results back: a log step, a monitored step, an epoch's last) should
// make no blocking call at all.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace danlu::train {

class SyncReport {
 public:
  static constexpr int64_t kWarmupSteps = 2;

  // Marks the start of a step (its data loading included).
  void begin_step();
  // The step's record for metrics.jsonl: {"kind": "sync_check", "step",
  // "blocking_calls", "launches" (kernel launches, a CUDA Graph's counting
  // one), "reads_back", "steady"}. `run_step` counts from 1 in
  // this process (a resumed run warms up again).
  nlohmann::json end_step(int64_t step, int64_t run_step, bool reads_back);
  // "sync check: 0 blocking calls in 46 steady-state steps (4 other steps: 31)".
  std::string summary() const;

  int64_t steady_steps() const { return steady_steps_; }
  int64_t steady_calls() const { return steady_calls_; }

 private:
  int64_t before_ = 0, launches_before_ = 0;
  int64_t steady_steps_ = 0, steady_calls_ = 0;
  int64_t other_steps_ = 0, other_calls_ = 0;
  int64_t first_blocking_step_ = 0;  // the first steady step that blocked; 0 if none
};

}  // namespace danlu::train
