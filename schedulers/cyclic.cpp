// CyclicLR, transcribed from torch 1.13's lr_scheduler.py.
#include "schedulers/cyclic.h"

#include <cmath>

#include "schedulers/check.h"

namespace danlu::sched {

namespace {

// PyTorch sets the lrs (and momentum) to their base values before its base
// class records initial_lr, so this runs ahead of LRScheduler's constructor.
LrTarget& start_at_base(LrTarget& target, const CyclicLROptions& o) {
  const size_t groups = target.num_param_groups();
  require_each(
      o.base_lr_, [](double x) { return x >= 0; }, "CyclicLR", "base_lr", "numbers >= 0");
  const std::vector<double> base = per_group(o.base_lr_, groups, "CyclicLR", "base_lr");
  require_each(
      o.max_lr_, [](double x) { return x >= 0; }, "CyclicLR", "max_lr", "numbers >= 0");
  check_range(o.step_size_up_ > 0, "CyclicLR", "step_size_up", "a number > 0", o.step_size_up_);
  if (o.step_size_down_)
    check_range(*o.step_size_down_ > 0, "CyclicLR", "step_size_down", "a number > 0",
            *o.step_size_down_);
  check_range(o.gamma_ > 0, "CyclicLR", "gamma", "a number > 0", o.gamma_);
  for (size_t g = 0; g < groups; ++g) target.set_lr(g, base[g]);
  if (o.cycle_momentum_) {
    check_range(target.has_momentum(), "CyclicLR", "cycle_momentum",
            "false for an optimizer without momentum", "true");
    const auto m = per_group(o.base_momentum_, groups, "CyclicLR", "base_momentum");
    for (size_t g = 0; g < groups; ++g) target.set_momentum(g, m[g]);
  }
  return target;
}

}  // namespace

CyclicLR::CyclicLR(LrTarget& target, CyclicLROptions options)
    : LRScheduler(start_at_base(target, options)), options_(std::move(options)) {
  max_lrs_ = per_group(options_.max_lr_, groups(), name(), "max_lr");
  const double up = options_.step_size_up_;
  const double down = options_.step_size_down_.value_or(up);
  total_size_ = up + down;
  step_ratio_ = up / total_size_;
  // The built-in modes fix the scale mode; a custom scale_fn brings its own.
  scale_mode_ = options_.scale_fn_                        ? options_.scale_mode_
                : options_.mode_ == CyclicMode::exp_range ? ScaleMode::iterations
                                                          : ScaleMode::cycle;
  if (options_.cycle_momentum_) {
    base_momentums_ = current_momentum();
    max_momentums_ = per_group(options_.max_momentum_, groups(), name(), "max_momentum");
  }
  // PyTorch's initial step runs with base_lrs = the recorded initial_lr and
  // only then sets base_lrs to base_lr; the two differ when another scheduler
  // was built over the optimizer first (CyclicLR inside a ChainedScheduler).
  initial_step();
  base_lrs_ = per_group(options_.base_lr_, groups(), name(), "base_lr");
}

double CyclicLR::scale(double x) const {
  if (options_.scale_fn_) return options_.scale_fn_(x);
  switch (options_.mode_) {
    case CyclicMode::triangular:
      return 1.;
    case CyclicMode::triangular2:
      return 1 / std::pow(2., x - 1);
    case CyclicMode::exp_range:
      return std::pow(options_.gamma_, x);
  }
  return 1.;
}

std::vector<double> CyclicLR::get_lr() {
  const double e = double(last_epoch_);
  const double cycle = std::floor(1 + e / total_size_);
  const double x = 1. + e / total_size_ - cycle;
  const double scale_factor = x <= step_ratio_ ? x / step_ratio_ : (x - 1) / (step_ratio_ - 1);
  const double s = scale(scale_mode_ == ScaleMode::cycle ? cycle : e);

  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g) {
    const double base_height = (max_lrs_[g] - base_lrs_[g]) * scale_factor;
    lrs[g] = base_lrs_[g] + base_height * s;
  }
  if (options_.cycle_momentum_) {
    std::vector<double> momentum(groups());
    for (size_t g = 0; g < momentum.size(); ++g) {
      const double base_height = (max_momentums_[g] - base_momentums_[g]) * scale_factor;
      momentum[g] = max_momentums_[g] - base_height * s;
    }
    set_momentum(momentum);
  }
  return lrs;
}

void CyclicLR::save_state(nlohmann::json& state) const {
  if (options_.cycle_momentum_) state["momentum"] = current_momentum();
}

void CyclicLR::load_state(const nlohmann::json& state) {
  if (options_.cycle_momentum_) set_momentum(state.at("momentum").get<std::vector<double>>());
}

}  // namespace danlu::sched
