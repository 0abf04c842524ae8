// torch.optim.lr_scheduler's multiplicative schedules: LambdaLR,
// MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR
// and PolynomialLR. Each step() uses PyTorch's chainable form (the new lr from
// the target's current lr); step_to() uses its closed form.
#pragma once

#include <functional>

#include "schedulers/scheduler.h"

namespace danlu::sched {

// A factor as a function of the epoch (PyTorch's lr_lambda).
using LrLambda = std::function<double(int64_t epoch)>;

// lr = base_lr * lr_lambda(epoch).
class LambdaLR final : public LRScheduler {
 public:
  LambdaLR(LrTarget& target, LrLambda lr_lambda);
  LambdaLR(LrTarget& target, std::vector<LrLambda> lr_lambdas);  // one per group
  std::string name() const override { return "LambdaLR"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::vector<LrLambda> lambdas_;
};

// lr *= lr_lambda(epoch) for every epoch > 0.
class MultiplicativeLR final : public LRScheduler {
 public:
  MultiplicativeLR(LrTarget& target, LrLambda lr_lambda);
  MultiplicativeLR(LrTarget& target, std::vector<LrLambda> lr_lambdas);
  std::string name() const override { return "MultiplicativeLR"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::vector<LrLambda> lambdas_;
};

// lr = base_lr * gamma^(epoch // step_size).
class StepLR final : public LRScheduler {
 public:
  StepLR(LrTarget& target, int64_t step_size, double gamma = 0.1);
  std::string name() const override { return "StepLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = base_lr * gamma^(number of milestones <= epoch). A milestone listed
// twice decays twice (PyTorch counts them).
class MultiStepLR final : public LRScheduler {
 public:
  MultiStepLR(LrTarget& target, std::vector<int64_t> milestones, double gamma = 0.1);
  std::string name() const override { return "MultiStepLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  std::vector<int64_t> milestones_;  // sorted
  double gamma_;
};

// lr = base_lr * factor for epoch < total_iters, then base_lr.
class ConstantLR final : public LRScheduler {
 public:
  ConstantLR(LrTarget& target, double factor = 1.0 / 3, int64_t total_iters = 5);
  std::string name() const override { return "ConstantLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  double factor_;
  int64_t total_iters_;
};

// The factor goes linearly from start_factor to end_factor over total_iters.
class LinearLR final : public LRScheduler {
 public:
  LinearLR(LrTarget& target, double start_factor = 1.0 / 3, double end_factor = 1.0,
           int64_t total_iters = 5);
  std::string name() const override { return "LinearLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  double start_factor_;
  double end_factor_;
  int64_t total_iters_;
};

// lr = base_lr * gamma^epoch.
class ExponentialLR final : public LRScheduler {
 public:
  ExponentialLR(LrTarget& target, double gamma);
  std::string name() const override { return "ExponentialLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  double gamma_;
};

// lr = base_lr * (1 - min(epoch, total_iters) / total_iters)^power.
class PolynomialLR final : public LRScheduler {
 public:
  PolynomialLR(LrTarget& target, int64_t total_iters = 5, double power = 1.0);
  std::string name() const override { return "PolynomialLR"; }

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  int64_t total_iters_;
  double power_;
};

}  // namespace danlu::sched
