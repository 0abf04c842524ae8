// PyTorch's OneCycleLR (Smith & Topin, "Super-Convergence"): one warm-up from
// max_lr / div_factor to max_lr and one anneal down to
// max_lr / (div_factor * final_div_factor), with momentum moving the other
// way; three_phase adds the paper's symmetric descent before the final anneal.
#pragma once

#include <optional>

#include "schedulers/scheduler.h"

namespace danlu::sched {

enum class AnnealStrategy { cos, linear };

struct OneCycleLROptions {
  // max_lr: one value for every param group or one per group.
  explicit OneCycleLROptions(std::vector<double> max_lr) : max_lr_(std::move(max_lr)) {}
  OneCycleLROptions& total_steps(int64_t v) { total_steps_ = v; return *this; }
  OneCycleLROptions& epochs(int64_t v) { epochs_ = v; return *this; }
  OneCycleLROptions& steps_per_epoch(int64_t v) { steps_per_epoch_ = v; return *this; }
  OneCycleLROptions& pct_start(double v) { pct_start_ = v; return *this; }
  OneCycleLROptions& anneal_strategy(AnnealStrategy v) { anneal_strategy_ = v; return *this; }
  OneCycleLROptions& cycle_momentum(bool v) { cycle_momentum_ = v; return *this; }
  OneCycleLROptions& base_momentum(std::vector<double> v) {
    base_momentum_ = std::move(v);
    return *this;
  }
  OneCycleLROptions& max_momentum(std::vector<double> v) {
    max_momentum_ = std::move(v);
    return *this;
  }
  OneCycleLROptions& div_factor(double v) { div_factor_ = v; return *this; }
  OneCycleLROptions& final_div_factor(double v) { final_div_factor_ = v; return *this; }
  OneCycleLROptions& three_phase(bool v) { three_phase_ = v; return *this; }

  std::vector<double> max_lr_;
  // total_steps, or else epochs * steps_per_epoch.
  std::optional<int64_t> total_steps_;
  std::optional<int64_t> epochs_;
  std::optional<int64_t> steps_per_epoch_;
  double pct_start_ = 0.3;
  AnnealStrategy anneal_strategy_ = AnnealStrategy::cos;
  bool cycle_momentum_ = true;
  std::vector<double> base_momentum_{0.85};
  std::vector<double> max_momentum_{0.95};
  double div_factor_ = 25.;
  double final_div_factor_ = 1e4;
  bool three_phase_ = false;
};

class OneCycleLR final : public LRScheduler {
 public:
  OneCycleLR(LrTarget& target, OneCycleLROptions options);
  std::string name() const override { return "OneCycleLR"; }
  int64_t total_steps() const { return total_steps_; }

 protected:
  std::vector<double> get_lr() override;
  void save_state(nlohmann::json& state) const override;
  void load_state(const nlohmann::json& state) override;

 private:
  // A phase anneals from one per-group level to another until end_step.
  enum class Level { initial_lr, max_lr, min_lr, max_momentum, base_momentum };
  struct Phase {
    double end_step;
    Level start_lr, end_lr, start_momentum, end_momentum;
  };
  double level(Level l, size_t group) const;
  double anneal(double start, double end, double pct) const;

  OneCycleLROptions options_;
  int64_t total_steps_;
  std::vector<Phase> phases_;
  std::vector<double> initial_lrs_, max_lrs_, min_lrs_;
  std::vector<double> max_momentums_, base_momentums_;
};

}  // namespace danlu::sched
