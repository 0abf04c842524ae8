// OneCycleLR, transcribed from torch 1.13's lr_scheduler.py.
#include "schedulers/one_cycle.h"

#include <cmath>
#include <numbers>

#include "schedulers/check.h"

namespace danlu::sched {

namespace {

int64_t total_steps_of(const OneCycleLROptions& o) {
  if (o.total_steps_) {
    check_range(*o.total_steps_ >= 1, "OneCycleLR", "total_steps", "an integer >= 1",
            double(*o.total_steps_));
    return *o.total_steps_;
  }
  if (!o.epochs_ || !o.steps_per_epoch_)
    throw FieldError("OneCycleLR", "total_steps",
                     "required, or else both epochs and steps_per_epoch");
  check_range(*o.epochs_ >= 1, "OneCycleLR", "epochs", "an integer >= 1", double(*o.epochs_));
  check_range(*o.steps_per_epoch_ >= 1, "OneCycleLR", "steps_per_epoch", "an integer >= 1",
          double(*o.steps_per_epoch_));
  return *o.epochs_ * *o.steps_per_epoch_;
}

// PyTorch writes initial_lr = max_lr / div_factor into the param groups (over
// any recorded value) and sets momentum to max_momentum before its base
// class runs, so this runs ahead of LRScheduler's constructor.
LrTarget& start_cycle(LrTarget& target, const OneCycleLROptions& o) {
  const size_t groups = target.num_param_groups();
  require_each(
      o.max_lr_, [](double x) { return x > 0; }, "OneCycleLR", "max_lr", "numbers > 0");
  const auto max_lr = per_group(o.max_lr_, groups, "OneCycleLR", "max_lr");
  check_range(o.div_factor_ > 0, "OneCycleLR", "div_factor", "a number > 0", o.div_factor_);
  check_range(o.final_div_factor_ > 0, "OneCycleLR", "final_div_factor", "a number > 0",
          o.final_div_factor_);
  check_range(o.pct_start_ >= 0 && o.pct_start_ <= 1, "OneCycleLR", "pct_start", "a number in [0, 1]",
          o.pct_start_);
  total_steps_of(o);
  std::vector<double> max_momentum;
  if (o.cycle_momentum_) {
    check_range(target.has_momentum(), "OneCycleLR", "cycle_momentum",
            "false for an optimizer without momentum", "true");
    max_momentum = per_group(o.max_momentum_, groups, "OneCycleLR", "max_momentum");
    per_group(o.base_momentum_, groups, "OneCycleLR", "base_momentum");
  }
  // Nothing may throw from here until LRScheduler's constructor has counted
  // this scheduler in the initial_lr record.
  std::vector<double> initial(groups);
  for (size_t g = 0; g < groups; ++g) initial[g] = max_lr[g] / o.div_factor_;
  overwrite_initial_lrs(target, initial);
  for (size_t g = 0; g < max_momentum.size(); ++g) target.set_momentum(g, max_momentum[g]);
  return target;
}

}  // namespace

OneCycleLR::OneCycleLR(LrTarget& target, OneCycleLROptions options)
    : LRScheduler(start_cycle(target, options)),
      options_(std::move(options)),
      total_steps_(total_steps_of(options_)) {
  const double total = double(total_steps_);
  const double pct = options_.pct_start_;
  if (options_.three_phase_)
    phases_ = {
        {pct * total - 1, Level::initial_lr, Level::max_lr, Level::max_momentum,
         Level::base_momentum},
        {2 * pct * total - 2, Level::max_lr, Level::initial_lr, Level::base_momentum,
         Level::max_momentum},
        {total - 1, Level::initial_lr, Level::min_lr, Level::max_momentum, Level::max_momentum}};
  else
    phases_ = {
        {pct * total - 1, Level::initial_lr, Level::max_lr, Level::max_momentum,
         Level::base_momentum},
        {total - 1, Level::max_lr, Level::min_lr, Level::base_momentum, Level::max_momentum}};

  max_lrs_ = per_group(options_.max_lr_, groups(), name(), "max_lr");
  initial_lrs_ = base_lrs_;
  min_lrs_.resize(groups());
  for (size_t g = 0; g < groups(); ++g) min_lrs_[g] = initial_lrs_[g] / options_.final_div_factor_;
  if (options_.cycle_momentum_) {
    max_momentums_ = per_group(options_.max_momentum_, groups(), name(), "max_momentum");
    base_momentums_ = per_group(options_.base_momentum_, groups(), name(), "base_momentum");
  }
  initial_step();
}

double OneCycleLR::level(Level l, size_t g) const {
  switch (l) {
    case Level::initial_lr:
      return initial_lrs_[g];
    case Level::max_lr:
      return max_lrs_[g];
    case Level::min_lr:
      return min_lrs_[g];
    case Level::max_momentum:
      return max_momentums_[g];
    case Level::base_momentum:
      return base_momentums_[g];
  }
  return 0;
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy_ == AnnealStrategy::linear) return (end - start) * pct + start;
  const double cos_out = std::cos(std::numbers::pi * pct) + 1;
  return end + (start - end) / 2.0 * cos_out;
}

std::vector<double> OneCycleLR::get_lr() {
  const int64_t step_num = last_epoch_;
  DANLU_CHECK(step_num <= total_steps_, "OneCycleLR: tried to step ", step_num + 1,
              " times; total_steps is ", total_steps_, " (make the cycle as long as the run)");
  std::vector<double> lrs(groups()), momentum(groups());
  for (size_t g = 0; g < groups(); ++g) {
    double start_step = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (double(step_num) <= phase.end_step || i == phases_.size() - 1) {
        const double pct = (double(step_num) - start_step) / (phase.end_step - start_step);
        lrs[g] = anneal(level(phase.start_lr, g), level(phase.end_lr, g), pct);
        if (options_.cycle_momentum_)
          momentum[g] = anneal(level(phase.start_momentum, g), level(phase.end_momentum, g), pct);
        break;
      }
      start_step = phase.end_step;
    }
  }
  if (options_.cycle_momentum_) set_momentum(momentum);
  return lrs;
}

void OneCycleLR::save_state(nlohmann::json& state) const {
  if (options_.cycle_momentum_) state["momentum"] = current_momentum();
}

void OneCycleLR::load_state(const nlohmann::json& state) {
  if (options_.cycle_momentum_) set_momentum(state.at("momentum").get<std::vector<double>>());
}

}  // namespace danlu::sched
