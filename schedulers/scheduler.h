// LRScheduler: the base every learning-rate schedule derives from, with
// PyTorch's interface (step(), get_last_lr(), last_epoch, state_dict()) and
// PyTorch 1.13's _LRScheduler semantics, including the step the constructor
// takes, so that schedule t is the lr for iteration (or epoch) t.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "schedulers/lr_target.h"

namespace danlu::sched {

class LRScheduler {
 public:
  virtual ~LRScheduler();
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Advances one epoch (or iteration) and writes the new lrs into the target:
  // last_epoch += 1, then the chainable get_lr() of PyTorch.
  virtual void step();
  // ReduceLROnPlateau's step(metrics). Schedules that watch no metric ignore
  // it, so a training loop can call this form for any schedule.
  virtual void step(double metric);
  // PyTorch's step(epoch): jumps to `epoch` and uses the closed form where
  // PyTorch has one (SequentialLR and LinearWarmup hand over this way).
  virtual void step_to(int64_t epoch);
  // True for ReduceLROnPlateau, whose step() needs the monitored metric.
  virtual bool needs_metric() const { return false; }

  // The lr of each param group after the last step.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  // PyTorch's base_lrs: each group's "initial_lr" (see initial_lrs() below).
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  LrTarget& target() const { return target_; }
  // The class name ("StepLR"), as in PyTorch/Paddle/TF and in JSON specs.
  virtual std::string name() const = 0;

  // Everything a resumed run needs to continue identically: the counters,
  // base and last lrs, and each schedule's own state (hyperparameters come
  // from the spec the scheduler is rebuilt from). load_state_dict() also
  // writes the saved lrs (and cycled momentum) back into the target, so the
  // resumed run does not depend on whether the optimizer saved them.
  nlohmann::json state_dict() const;
  void load_state_dict(const nlohmann::json& state);

 protected:
  // Takes the target's initial lrs as base_lrs. Every concrete class ends its
  // constructor with initial_step(), as PyTorch's constructors do.
  explicit LRScheduler(LrTarget& target);

  // PyTorch's _initial_step(): step_count = 0, then one step() to epoch 0.
  void initial_step();
  // The lrs for last_epoch_, computed from the target's current lrs where
  // PyTorch's form is chainable (MultiplicativeLR, StepLR, ...). Classes that
  // override step() instead (composites, ReduceLROnPlateau) leave it alone.
  virtual std::vector<double> get_lr();
  // PyTorch's _get_closed_form_lr(), used by step_to(); without one, step_to()
  // falls back on get_lr() at the new epoch, as PyTorch does.
  virtual std::vector<double> closed_form_lr() { return get_lr(); }

  // A class's own state beyond the base's (counters, children, momentum);
  // load_state runs after the base fields are restored.
  virtual void save_state(nlohmann::json& /*state*/) const {}
  virtual void load_state(const nlohmann::json& /*state*/) {}

  // Sets every group's lr and records them as last_lr.
  void apply(const std::vector<double>& lrs);
  // The target's lrs, one per group.
  std::vector<double> current_lrs() const;
  // Per-group momentum as the target reports it.
  std::vector<double> current_momentum() const;
  void set_momentum(const std::vector<double>& momentum);
  size_t groups() const { return target_.num_param_groups(); }

  // SequentialLR rewinds its children's construction step, as PyTorch does.
  friend class SequentialLR;

  LrTarget& target_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;  // PyTorch's _step_count: steps since construction
};

// PyTorch keeps param_group["initial_lr"] in the optimizer: the first
// scheduler built over an optimizer records the lrs it found there, and every
// later one takes those as its base_lrs, which is how the schedules inside a
// SequentialLR or ChainedScheduler all start from the optimizer's lr rather
// than from what the first of them set. LrTarget has no room for it, so the
// record lives here, keyed by target, for as long as a scheduler over that
// target exists. OneCycleLR overwrites it (max_lr / div_factor), as in PyTorch.
std::vector<double> initial_lrs(const LrTarget& target);
void overwrite_initial_lrs(const LrTarget& target, const std::vector<double>& lrs);

// A per-group parameter given once for all groups or once per group (PyTorch's
// _format_param): {x} or {x0, x1, ...}.
std::vector<double> per_group(const std::vector<double>& values, size_t groups,
                              const std::string& scheduler, const std::string& param);

}  // namespace danlu::sched
