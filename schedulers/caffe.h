// Caffe's lr policies that no other library here has (SGDSolver::
// GetLearningRate): "inv" and "sigmoid". The step is Caffe's iter_.
//
// base_lr is optional here: std::nullopt means each param group's own lr.
#pragma once

#include <optional>

#include "schedulers/scheduler.h"

namespace danlu::sched {

// "inv": lr = base_lr * (1 + gamma * iter)^(-power).
class CaffeInv final : public LRScheduler {
 public:
  CaffeInv(LrTarget& target, std::optional<double> base_lr, double gamma, double power);
  std::string name() const override { return "inv"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::optional<double> base_lr_;
  double gamma_;
  double power_;
};

// "sigmoid": lr = base_lr * 1 / (1 + exp(-gamma * (iter - stepsize))); a
// negative gamma decays, a positive one warms up, centred on stepsize.
class CaffeSigmoid final : public LRScheduler {
 public:
  CaffeSigmoid(LrTarget& target, std::optional<double> base_lr, double gamma, int64_t stepsize);
  std::string name() const override { return "sigmoid"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::optional<double> base_lr_;
  double gamma_;
  int64_t stepsize_;
};

}  // namespace danlu::sched
