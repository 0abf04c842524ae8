// PyTorch's cosine schedules, transcribed from torch 1.13 operation by
// operation (see pytorch_basic.cpp for why the order matters).
#include "schedulers/cosine.h"

#include <cmath>
#include <numbers>

#include "schedulers/check.h"

namespace danlu::sched {

using std::numbers::pi;

CosineAnnealingLR::CosineAnnealingLR(LrTarget& target, int64_t T_max, double eta_min)
    : LRScheduler(target), T_max_(T_max), eta_min_(eta_min) {
  check_range(T_max >= 1, name(), "T_max", "an integer >= 1", double(T_max));
  check_range(eta_min >= 0, name(), "eta_min", "a number >= 0", eta_min);
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  const double t_max = double(T_max_);
  if (last_epoch_ == 0) return lrs;
  if ((last_epoch_ - 1 - T_max_) % (2 * T_max_) == 0) {
    // One step past a minimum the recursive ratio would be 0/0; PyTorch adds
    // the first step of the next rise instead.
    for (size_t g = 0; g < lrs.size(); ++g)
      lrs[g] = lrs[g] + (base_lrs_[g] - eta_min_) * (1 - std::cos(pi / t_max)) / 2;
    return lrs;
  }
  const double ratio = (1 + std::cos(pi * double(last_epoch_) / t_max)) /
                       (1 + std::cos(pi * double(last_epoch_ - 1) / t_max));
  for (double& lr : lrs) lr = ratio * (lr - eta_min_) + eta_min_;
  return lrs;
}

std::vector<double> CosineAnnealingLR::closed_form_lr() {
  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g)
    lrs[g] = eta_min_ + (base_lrs_[g] - eta_min_) *
                            (1 + std::cos(pi * double(last_epoch_) / double(T_max_))) / 2;
  return lrs;
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(LrTarget& target, int64_t T_0,
                                                         int64_t T_mult, double eta_min)
    : LRScheduler(target), T_0_(T_0), T_mult_(T_mult), eta_min_(eta_min), T_i_(T_0), T_cur_(-1) {
  check_range(T_0 >= 1, name(), "T_0", "an integer >= 1", double(T_0));
  check_range(T_mult >= 1, name(), "T_mult", "an integer >= 1", double(T_mult));
  check_range(eta_min >= 0, name(), "eta_min", "a number >= 0", eta_min);
  initial_step();
}

std::vector<double> CosineAnnealingWarmRestarts::get_lr() {
  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g)
    lrs[g] = eta_min_ + (base_lrs_[g] - eta_min_) * (1 + std::cos(pi * T_cur_ / double(T_i_))) / 2;
  return lrs;
}

void CosineAnnealingWarmRestarts::step() {
  // The first step (also SequentialLR's re-run of it) goes through step_to(0).
  if (last_epoch_ < 0) return step_to(0);
  ++step_count_;
  ++last_epoch_;
  T_cur_ = T_cur_ + 1;
  if (T_cur_ >= double(T_i_)) {
    T_cur_ = T_cur_ - double(T_i_);
    T_i_ = T_i_ * T_mult_;
  }
  apply(get_lr());
}

void CosineAnnealingWarmRestarts::step_to(int64_t epoch) {
  check_range(epoch >= 0, name(), "epoch", "an integer >= 0", double(epoch));
  ++step_count_;
  if (epoch >= T_0_) {
    if (T_mult_ == 1) {
      T_cur_ = double(epoch % T_0_);
    } else {
      // n = the number of restarts before `epoch`, from the geometric series
      // T_0 * (1 + T_mult + ... + T_mult^(n-1)) <= epoch.
      const double m = double(T_mult_);
      const auto n = int64_t(std::log(double(epoch) / double(T_0_) * (m - 1) + 1) / std::log(m));
      int64_t T_mult_n = 1;
      for (int64_t i = 0; i < n; ++i) T_mult_n *= T_mult_;
      T_cur_ = double(epoch) - double(T_0_ * (T_mult_n - 1)) / double(T_mult_ - 1);
      T_i_ = T_0_ * T_mult_n;
    }
  } else {
    T_i_ = T_0_;
    T_cur_ = double(epoch);
  }
  last_epoch_ = epoch;
  apply(get_lr());
}

void CosineAnnealingWarmRestarts::save_state(nlohmann::json& state) const {
  state["T_i"] = T_i_;
  state["T_cur"] = T_cur_;
}

void CosineAnnealingWarmRestarts::load_state(const nlohmann::json& state) {
  T_i_ = state.at("T_i").get<int64_t>();
  T_cur_ = state.at("T_cur").get<double>();
}

}  // namespace danlu::sched
