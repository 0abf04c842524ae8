// Caffe's "inv" and "sigmoid" policies, transcribed from
// src/caffe/solvers/sgd_solver.cpp (SGDSolver::GetLearningRate).
#include "schedulers/caffe.h"

#include <cmath>

#include "schedulers/check.h"

namespace danlu::sched {

namespace {

void check_base_lr(const std::optional<double>& lr, const std::string& scheduler) {
  check_range(!lr || *lr >= 0, scheduler, "base_lr", "a number >= 0", lr.value_or(0));
}

}  // namespace

CaffeInv::CaffeInv(LrTarget& target, std::optional<double> base_lr, double gamma, double power)
    : LRScheduler(target), base_lr_(base_lr), gamma_(gamma), power_(power) {
  check_base_lr(base_lr, name());
  check_range(gamma > 0, name(), "gamma", "a number > 0", gamma);
  check_range(power > 0, name(), "power", "a number > 0", power);
  initial_step();
}

std::vector<double> CaffeInv::get_lr() {
  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g)
    lrs[g] = (base_lr_ ? *base_lr_ : base_lrs_[g]) *
             std::pow(1. + gamma_ * double(last_epoch_), -power_);
  return lrs;
}

CaffeSigmoid::CaffeSigmoid(LrTarget& target, std::optional<double> base_lr, double gamma,
                           int64_t stepsize)
    : LRScheduler(target), base_lr_(base_lr), gamma_(gamma), stepsize_(stepsize) {
  check_base_lr(base_lr, name());
  check_range(gamma != 0, name(), "gamma", "a number other than 0 (< 0 decays, > 0 rises)", gamma);
  check_range(stepsize >= 0, name(), "stepsize", "an integer >= 0", double(stepsize));
  initial_step();
}

std::vector<double> CaffeSigmoid::get_lr() {
  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g)
    lrs[g] = (base_lr_ ? *base_lr_ : base_lrs_[g]) *
             (1. / (1. + std::exp(-gamma_ * (double(last_epoch_) - double(stepsize_)))));
  return lrs;
}

}  // namespace danlu::sched
