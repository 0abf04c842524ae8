// ReduceLROnPlateau, transcribed from torch 1.13's lr_scheduler.py.
#include "schedulers/plateau.h"

#include <algorithm>
#include <limits>

#include "schedulers/check.h"

namespace danlu::sched {

ReduceLROnPlateau::ReduceLROnPlateau(LrTarget& target, ReduceLROnPlateauOptions options)
    : LRScheduler(target), options_(std::move(options)) {
  const ReduceLROnPlateauOptions& o = options_;
  check_range(o.factor_ > 0 && o.factor_ < 1, name(), "factor", "a number in (0, 1)", o.factor_);
  check_range(o.patience_ >= 0, name(), "patience", "an integer >= 0", double(o.patience_));
  check_range(o.threshold_ >= 0, name(), "threshold", "a number >= 0", o.threshold_);
  check_range(o.cooldown_ >= 0, name(), "cooldown", "an integer >= 0", double(o.cooldown_));
  check_range(o.eps_ >= 0, name(), "eps", "a number >= 0", o.eps_);
  min_lrs_ = per_group(o.min_lr_, groups(), name(), "min_lr");
  require_each(
      min_lrs_, [](double x) { return x >= 0; }, name(), "min_lr", "numbers >= 0");
  // Unlike the other schedules, PyTorch's constructor takes no step.
  last_epoch_ = 0;
  best_ = mode_worse();
}

double ReduceLROnPlateau::mode_worse() const {
  const double inf = std::numeric_limits<double>::infinity();
  return options_.mode_ == PlateauMode::min ? inf : -inf;
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  const double t = options_.threshold_;
  if (options_.mode_ == PlateauMode::min)
    return options_.threshold_mode_ == ThresholdMode::rel ? a < best * (1. - t) : a < best - t;
  return options_.threshold_mode_ == ThresholdMode::rel ? a > best * (t + 1.) : a > best + t;
}

void ReduceLROnPlateau::step() {
  DANLU_FAIL("ReduceLROnPlateau: step() needs the monitored metric; call step(metric)");
}

void ReduceLROnPlateau::step(double metric) {
  ++step_count_;
  ++last_epoch_;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (in_cooldown()) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs during the cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience_) {
    for (size_t g = 0; g < groups(); ++g) {
      const double old_lr = target_.lr(g);
      const double new_lr = std::max(old_lr * options_.factor_, min_lrs_[g]);
      if (old_lr - new_lr > options_.eps_) target_.set_lr(g, new_lr);
    }
    cooldown_counter_ = options_.cooldown_;
    num_bad_epochs_ = 0;
  }
  last_lr_ = current_lrs();
}

void ReduceLROnPlateau::save_state(nlohmann::json& state) const {
  // JSON has no infinity: null stands for "no metric has improved on it yet".
  state["best"] = best_ == mode_worse() ? nlohmann::json(nullptr) : nlohmann::json(best_);
  state["num_bad_epochs"] = num_bad_epochs_;
  state["cooldown_counter"] = cooldown_counter_;
}

void ReduceLROnPlateau::load_state(const nlohmann::json& state) {
  const auto& best = state.at("best");
  best_ = best.is_null() ? mode_worse() : best.get<double>();
  num_bad_epochs_ = state.at("num_bad_epochs").get<int64_t>();
  cooldown_counter_ = state.at("cooldown_counter").get<int64_t>();
}

}  // namespace danlu::sched
