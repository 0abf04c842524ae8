// SequentialLR and ChainedScheduler, transcribed from torch 1.13.
#include "schedulers/composite.h"

#include <algorithm>

#include "schedulers/check.h"

namespace danlu::sched {

namespace {

void check_children(const std::vector<std::unique_ptr<LRScheduler>>& schedulers,
                    const LrTarget* target, const std::string& parent) {
  if (schedulers.empty()) throw FieldError(parent, "schedulers", "expected a non-empty list");
  for (size_t i = 0; i < schedulers.size(); ++i) {
    const std::string at = "schedulers[" + std::to_string(i) + "]";
    if (!schedulers[i]) throw FieldError(parent, at, "expected a scheduler, got none");
    if (&schedulers[i]->target() != target)
      throw FieldError(parent, at, "drives another optimizer; all must drive the same one");
    if (schedulers[i]->needs_metric())
      throw FieldError(parent, at,
                       schedulers[i]->name() + " needs a metric and cannot run inside " + parent);
  }
}

LrTarget& target_of(const std::vector<std::unique_ptr<LRScheduler>>& schedulers) {
  if (schedulers.empty() || !schedulers[0])
    throw FieldError("ChainedScheduler", "schedulers", "expected a non-empty list");
  return schedulers[0]->target();
}

nlohmann::json states(const std::vector<std::unique_ptr<LRScheduler>>& schedulers) {
  nlohmann::json s = nlohmann::json::array();
  for (const auto& child : schedulers) s.push_back(child->state_dict());
  return s;
}

void load_states(const std::vector<std::unique_ptr<LRScheduler>>& schedulers,
                 const nlohmann::json& s) {
  DANLU_CHECK(s.size() == schedulers.size(), "scheduler state: saved ", s.size(),
              " schedulers, this composite has ", schedulers.size());
  for (size_t i = 0; i < schedulers.size(); ++i) schedulers[i]->load_state_dict(s.at(i));
}

}  // namespace

SequentialLR::SequentialLR(LrTarget& target, std::vector<std::unique_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(target), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  check_children(schedulers_, &target, name());
  if (milestones_.size() + 1 != schedulers_.size())
    check_range(false, name(), "milestones",
            std::to_string(schedulers_.size() - 1) + " milestones (one fewer than schedulers)",
            format_list(milestones_));
  if (!milestones_.empty()) require_sorted(milestones_, 1, true, name(), "milestones");

  last_epoch_ = 0;
  // Back to the initial lrs, "undo" every child's construction step, then
  // take the first child's initial step again.
  apply(base_lrs_);
  for (auto& child : schedulers_) child->last_epoch_ -= 1;
  schedulers_[0]->initial_step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  ++step_count_;
  ++last_epoch_;
  const size_t idx =
      std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  LRScheduler& scheduler = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_)
    scheduler.step_to(0);
  else
    scheduler.step();
  last_lr_ = scheduler.get_last_lr();
}

void SequentialLR::step_to(int64_t /*epoch*/) {
  DANLU_FAIL("SequentialLR cannot jump to an epoch; step it one epoch at a time");
}

void SequentialLR::save_state(nlohmann::json& state) const {
  state["schedulers"] = states(schedulers_);
}

void SequentialLR::load_state(const nlohmann::json& state) {
  load_states(schedulers_, state.at("schedulers"));
}

ChainedScheduler::ChainedScheduler(std::vector<std::unique_ptr<LRScheduler>> schedulers)
    : LRScheduler(target_of(schedulers)), schedulers_(std::move(schedulers)) {
  check_children(schedulers_, &target_, name());
  // PyTorch's ChainedScheduler has no epoch of its own; this one counts steps.
  last_epoch_ = 0;
}

void ChainedScheduler::step() {
  ++step_count_;
  ++last_epoch_;
  for (auto& child : schedulers_) child->step();
  last_lr_ = current_lrs();
}

void ChainedScheduler::step_to(int64_t /*epoch*/) {
  DANLU_FAIL("ChainedScheduler cannot jump to an epoch; step it one epoch at a time");
}

void ChainedScheduler::save_state(nlohmann::json& state) const {
  state["schedulers"] = states(schedulers_);
}

void ChainedScheduler::load_state(const nlohmann::json& state) {
  load_states(schedulers_, state.at("schedulers"));
}

}  // namespace danlu::sched
