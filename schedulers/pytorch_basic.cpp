// The multiplicative PyTorch schedules, transcribed from torch 1.13's
// lr_scheduler.py operation by operation, so that float64 results agree to
// the last bit (Python's float ** and math.* call the same libm as std::).
#include "schedulers/pytorch_basic.h"

#include <algorithm>
#include <cmath>

#include "schedulers/check.h"

namespace danlu::sched {

namespace {

std::vector<double> scaled(std::vector<double> lrs, double factor) {
  for (double& lr : lrs) lr *= factor;
  return lrs;
}

std::vector<LrLambda> checked_lambdas(std::vector<LrLambda> lambdas, size_t groups,
                                      const char* scheduler) {
  DANLU_CHECK(lambdas.size() == groups, scheduler, ": expected ", groups,
              " lr_lambdas (one per param group), got ", lambdas.size());
  for (const LrLambda& f : lambdas) DANLU_CHECK(f, scheduler, ": an lr_lambda is empty");
  return lambdas;
}

}  // namespace

LambdaLR::LambdaLR(LrTarget& target, LrLambda lr_lambda)
    : LambdaLR(target, std::vector<LrLambda>(target.num_param_groups(), lr_lambda)) {}

LambdaLR::LambdaLR(LrTarget& target, std::vector<LrLambda> lr_lambdas)
    : LRScheduler(target), lambdas_(checked_lambdas(std::move(lr_lambdas), groups(), "LambdaLR")) {
  initial_step();
}

std::vector<double> LambdaLR::get_lr() {
  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = base_lrs_[g] * lambdas_[g](last_epoch_);
  return lrs;
}

MultiplicativeLR::MultiplicativeLR(LrTarget& target, LrLambda lr_lambda)
    : MultiplicativeLR(target, std::vector<LrLambda>(target.num_param_groups(), lr_lambda)) {}

MultiplicativeLR::MultiplicativeLR(LrTarget& target, std::vector<LrLambda> lr_lambdas)
    : LRScheduler(target),
      lambdas_(checked_lambdas(std::move(lr_lambdas), groups(), "MultiplicativeLR")) {
  initial_step();
}

std::vector<double> MultiplicativeLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ > 0)
    for (size_t g = 0; g < lrs.size(); ++g) lrs[g] *= lambdas_[g](last_epoch_);
  return lrs;
}

StepLR::StepLR(LrTarget& target, int64_t step_size, double gamma)
    : LRScheduler(target), step_size_(step_size), gamma_(gamma) {
  check_range(step_size >= 1, name(), "step_size", "an integer >= 1", double(step_size));
  check_range(gamma > 0, name(), "gamma", "a number > 0", gamma);
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return current_lrs();
  return scaled(current_lrs(), gamma_);
}

std::vector<double> StepLR::closed_form_lr() {
  return scaled(base_lrs_, std::pow(gamma_, double(last_epoch_ / step_size_)));
}

MultiStepLR::MultiStepLR(LrTarget& target, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(target), milestones_(std::move(milestones)), gamma_(gamma) {
  require_sorted(milestones_, 0, false, name(), "milestones");
  check_range(gamma > 0, name(), "gamma", "a number > 0", gamma);
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (hits == 0) return current_lrs();
  return scaled(current_lrs(), std::pow(gamma_, double(hits)));
}

std::vector<double> MultiStepLR::closed_form_lr() {
  const auto passed =
      std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  return scaled(base_lrs_, std::pow(gamma_, double(passed)));
}

ConstantLR::ConstantLR(LrTarget& target, double factor, int64_t total_iters)
    : LRScheduler(target), factor_(factor), total_iters_(total_iters) {
  // PyTorch allows factor 0, which then divides by zero at total_iters.
  check_range(factor > 0 && factor <= 1, name(), "factor", "a number in (0, 1]", factor);
  check_range(total_iters >= 1, name(), "total_iters", "an integer >= 1", double(total_iters));
  initial_step();
}

std::vector<double> ConstantLR::get_lr() {
  if (last_epoch_ == 0) return scaled(current_lrs(), factor_);
  if (last_epoch_ != total_iters_) return current_lrs();
  return scaled(current_lrs(), 1.0 / factor_);
}

std::vector<double> ConstantLR::closed_form_lr() {
  const double on = last_epoch_ >= total_iters_ ? 1.0 : 0.0;
  return scaled(base_lrs_, factor_ + on * (1 - factor_));
}

LinearLR::LinearLR(LrTarget& target, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(target),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  // PyTorch allows start_factor 0, which its chainable form divides by.
  check_range(start_factor > 0 && start_factor <= 1, name(), "start_factor", "a number in (0, 1]",
          start_factor);
  check_range(end_factor >= 0 && end_factor <= 1, name(), "end_factor", "a number in [0, 1]",
          end_factor);
  check_range(total_iters >= 1, name(), "total_iters", "an integer >= 1", double(total_iters));
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  if (last_epoch_ == 0) return scaled(current_lrs(), start_factor_);
  if (last_epoch_ > total_iters_) return current_lrs();
  const double slope = end_factor_ - start_factor_;
  return scaled(current_lrs(), 1. + slope / (double(total_iters_) * start_factor_ +
                                             double(last_epoch_ - 1) * slope));
}

std::vector<double> LinearLR::closed_form_lr() {
  const double done = double(std::min(total_iters_, last_epoch_));
  return scaled(base_lrs_,
                start_factor_ + (end_factor_ - start_factor_) * done / double(total_iters_));
}

ExponentialLR::ExponentialLR(LrTarget& target, double gamma) : LRScheduler(target), gamma_(gamma) {
  check_range(gamma > 0, name(), "gamma", "a number > 0", gamma);
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() {
  if (last_epoch_ == 0) return current_lrs();
  return scaled(current_lrs(), gamma_);
}

std::vector<double> ExponentialLR::closed_form_lr() {
  return scaled(base_lrs_, std::pow(gamma_, double(last_epoch_)));
}

PolynomialLR::PolynomialLR(LrTarget& target, int64_t total_iters, double power)
    : LRScheduler(target), total_iters_(total_iters), power_(power) {
  check_range(total_iters >= 1, name(), "total_iters", "an integer >= 1", double(total_iters));
  check_range(power > 0, name(), "power", "a number > 0", power);
  initial_step();
}

std::vector<double> PolynomialLR::get_lr() {
  if (last_epoch_ == 0 || last_epoch_ > total_iters_) return current_lrs();
  const double t = double(total_iters_);
  const double decay =
      std::pow((1.0 - double(last_epoch_) / t) / (1.0 - double(last_epoch_ - 1) / t), power_);
  return scaled(current_lrs(), decay);
}

std::vector<double> PolynomialLR::closed_form_lr() {
  const double t = double(total_iters_);
  return scaled(base_lrs_, std::pow(1.0 - double(std::min(total_iters_, last_epoch_)) / t, power_));
}

}  // namespace danlu::sched
