// EpochStepper: an epoch-based schedule stepped once per iteration.
#include "schedulers/interval.h"

#include "schedulers/check.h"

namespace danlu::sched {

namespace {
LrTarget& target_of(const std::unique_ptr<LRScheduler>& schedule) {
  DANLU_CHECK(schedule, "EpochStepper: no schedule to step");
  return schedule->target();
}
}  // namespace

EpochStepper::EpochStepper(std::unique_ptr<LRScheduler> schedule, int64_t iterations_per_epoch)
    : LRScheduler(target_of(schedule)),
      schedule_(std::move(schedule)),
      iterations_per_epoch_(iterations_per_epoch) {
  check_range(iterations_per_epoch >= 1, name(), "iterations_per_epoch", "an integer >= 1",
          double(iterations_per_epoch));
  sync();
}

bool EpochStepper::epoch_ends() {
  ++step_count_;
  return ++iteration_ % iterations_per_epoch_ == 0;
}

void EpochStepper::sync() {
  last_epoch_ = schedule_->last_epoch();
  last_lr_ = schedule_->get_last_lr();
}

void EpochStepper::step() {
  if (epoch_ends()) schedule_->step();
  sync();
}

void EpochStepper::step(double metric) {
  if (epoch_ends()) schedule_->step(metric);
  sync();
}

void EpochStepper::step_to(int64_t /*epoch*/) {
  DANLU_FAIL("EpochStepper cannot jump to an epoch; call step() once per iteration");
}

void EpochStepper::save_state(nlohmann::json& state) const {
  state["iteration"] = iteration_;
  state["schedule"] = schedule_->state_dict();
}

void EpochStepper::load_state(const nlohmann::json& state) {
  iteration_ = state.at("iteration").get<int64_t>();
  schedule_->load_state_dict(state.at("schedule"));
}

}  // namespace danlu::sched
