// PyTorch's cosine schedules: CosineAnnealingLR (SGDR's annealing without
// restarts, chainable, so it rises again after T_max) and
// CosineAnnealingWarmRestarts (SGDR with restarts every T_0 * T_mult^i).
#pragma once

#include "schedulers/scheduler.h"

namespace danlu::sched {

// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2,
// computed recursively from the current lr as PyTorch does.
class CosineAnnealingLR final : public LRScheduler {
 public:
  CosineAnnealingLR(LrTarget& target, int64_t T_max, double eta_min = 0.0);
  std::string name() const override { return "CosineAnnealingLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  int64_t T_max_;
  double eta_min_;
};

// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2, where
// T_cur counts epochs since the last restart and T_i = T_0 * T_mult^restarts.
class CosineAnnealingWarmRestarts final : public LRScheduler {
 public:
  CosineAnnealingWarmRestarts(LrTarget& target, int64_t T_0, int64_t T_mult = 1,
                              double eta_min = 0.0);
  std::string name() const override { return "CosineAnnealingWarmRestarts"; }
  using LRScheduler::step;  // step(metric) too
  void step() override;
  void step_to(int64_t epoch) override;

 protected:
  std::vector<double> get_lr() override;
  void save_state(nlohmann::json& state) const override;
  void load_state(const nlohmann::json& state) override;

 private:
  int64_t T_0_;
  int64_t T_mult_;
  double eta_min_;
  int64_t T_i_;
  double T_cur_;  // a float once step_to() has used the geometric form, as in PyTorch
};

}  // namespace danlu::sched
