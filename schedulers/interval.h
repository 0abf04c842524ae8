// Step units. Every schedule counts in whatever unit its step() is called in;
// a training loop calls step() once per iteration. EpochStepper lets an
// epoch-based schedule ("interval": "epoch" in a spec) live in that loop: it
// advances the wrapped schedule once every iterations_per_epoch calls.
#pragma once

#include <memory>

#include "schedulers/scheduler.h"

namespace danlu::sched {

enum class Interval { step, epoch };

class EpochStepper final : public LRScheduler {
 public:
  EpochStepper(std::unique_ptr<LRScheduler> schedule, int64_t iterations_per_epoch);
  std::string name() const override { return "EpochStepper"; }
  bool needs_metric() const override { return schedule_->needs_metric(); }
  // One iteration; the schedule steps when an epoch completes. A metric is
  // passed on at that moment (ReduceLROnPlateau sees the epoch's last one).
  void step() override;
  void step(double metric) override;
  void step_to(int64_t epoch) override;  // refused: count iterations instead

  LRScheduler& schedule() const { return *schedule_; }
  int64_t iterations_per_epoch() const { return iterations_per_epoch_; }

 protected:
  void save_state(nlohmann::json& state) const override;
  void load_state(const nlohmann::json& state) override;

 private:
  bool epoch_ends();
  void sync();

  std::unique_ptr<LRScheduler> schedule_;
  int64_t iterations_per_epoch_;
  int64_t iteration_ = 0;
};

}  // namespace danlu::sched
