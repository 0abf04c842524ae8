// TensorFlow's cosine decays, transcribed from keras'
// learning_rate_schedule.py (TF 2.x) operation by operation.
#include "schedulers/tensorflow.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "schedulers/check.h"
#include "schedulers/noise.h"

namespace danlu::sched {

using std::numbers::pi;

namespace {

void check_initial_lr(const std::optional<double>& lr, const std::string& scheduler) {
  check_range(!lr || *lr >= 0, scheduler, "initial_learning_rate", "a number >= 0", lr.value_or(0));
}

// initial_learning_rate * decayed for every group.
std::vector<double> times(const std::optional<double>& lr, const std::vector<double>& base_lrs,
                          double decayed) {
  std::vector<double> lrs(base_lrs.size());
  for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = (lr ? *lr : base_lrs[g]) * decayed;
  return lrs;
}

}  // namespace

CosineDecay::CosineDecay(LrTarget& target, std::optional<double> initial_learning_rate,
                         int64_t decay_steps, double alpha)
    : LRScheduler(target),
      initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      alpha_(alpha) {
  check_initial_lr(initial_learning_rate, name());
  check_range(decay_steps >= 1, name(), "decay_steps", "an integer >= 1", double(decay_steps));
  check_range(alpha >= 0 && alpha <= 1, name(), "alpha", "a number in [0, 1]", alpha);
  initial_step();
}

std::vector<double> CosineDecay::get_lr() {
  const double decay_steps = double(decay_steps_);
  const double step = std::min(double(last_epoch_), decay_steps);
  const double completed_fraction = step / decay_steps;
  const double cosine_decayed = 0.5 * (1.0 + std::cos(pi * completed_fraction));
  const double decayed = (1 - alpha_) * cosine_decayed + alpha_;
  return times(initial_learning_rate_, base_lrs_, decayed);
}

CosineDecayRestarts::CosineDecayRestarts(LrTarget& target,
                                         std::optional<double> initial_learning_rate,
                                         int64_t first_decay_steps, double t_mul, double m_mul,
                                         double alpha)
    : LRScheduler(target),
      initial_learning_rate_(initial_learning_rate),
      first_decay_steps_(first_decay_steps),
      t_mul_(t_mul),
      m_mul_(m_mul),
      alpha_(alpha) {
  check_initial_lr(initial_learning_rate, name());
  check_range(first_decay_steps >= 1, name(), "first_decay_steps", "an integer >= 1",
          double(first_decay_steps));
  check_range(t_mul > 0, name(), "t_mul", "a number > 0", t_mul);
  check_range(m_mul >= 0, name(), "m_mul", "a number >= 0", m_mul);
  check_range(alpha >= 0 && alpha <= 1, name(), "alpha", "a number in [0, 1]", alpha);
  initial_step();
}

std::vector<double> CosineDecayRestarts::get_lr() {
  double completed_fraction = double(last_epoch_) / double(first_decay_steps_);
  double i_restart;
  if (t_mul_ == 1.0) {
    i_restart = std::floor(completed_fraction);
    completed_fraction -= i_restart;
  } else {
    // Periods grow geometrically: solve sum_{k<i} t_mul^k <= fraction for i.
    i_restart = std::floor(std::log(1.0 - completed_fraction * (1.0 - t_mul_)) / std::log(t_mul_));
    const double sum_r = (1.0 - std::pow(t_mul_, i_restart)) / (1.0 - t_mul_);
    completed_fraction = (completed_fraction - sum_r) / std::pow(t_mul_, i_restart);
  }
  const double m_fac = std::pow(m_mul_, i_restart);
  const double cosine_decayed = 0.5 * m_fac * (1.0 + std::cos(pi * completed_fraction));
  const double decayed = (1 - alpha_) * cosine_decayed + alpha_;
  return times(initial_learning_rate_, base_lrs_, decayed);
}

LinearCosineDecay::LinearCosineDecay(LrTarget& target, std::optional<double> initial_learning_rate,
                                     int64_t decay_steps, double num_periods, double alpha,
                                     double beta)
    : LRScheduler(target),
      initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      num_periods_(num_periods),
      alpha_(alpha),
      beta_(beta) {
  check_initial_lr(initial_learning_rate, name());
  check_range(decay_steps >= 1, name(), "decay_steps", "an integer >= 1", double(decay_steps));
  check_range(num_periods >= 0, name(), "num_periods", "a number >= 0", num_periods);
  check_range(alpha >= 0, name(), "alpha", "a number >= 0", alpha);
  check_range(beta >= 0, name(), "beta", "a number >= 0", beta);
  initial_step();
}

std::vector<double> LinearCosineDecay::get_lr() {
  const double decay_steps = double(decay_steps_);
  const double step = std::min(double(last_epoch_), decay_steps);
  const double linear_decayed = (decay_steps - step) / decay_steps;
  const double completed_fraction = step / decay_steps;
  const double fraction = 2.0 * num_periods_ * completed_fraction;
  const double cosine_decayed = 0.5 * (1.0 + std::cos(pi * fraction));
  const double decayed = (alpha_ + linear_decayed) * cosine_decayed + beta_;
  return times(initial_learning_rate_, base_lrs_, decayed);
}

NoisyLinearCosineDecay::NoisyLinearCosineDecay(LrTarget& target,
                                               std::optional<double> initial_learning_rate,
                                               int64_t decay_steps, double initial_variance,
                                               double variance_decay, double num_periods,
                                               double alpha, double beta, uint64_t seed)
    : LRScheduler(target),
      initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      initial_variance_(initial_variance),
      variance_decay_(variance_decay),
      num_periods_(num_periods),
      alpha_(alpha),
      beta_(beta),
      seed_(seed) {
  check_initial_lr(initial_learning_rate, name());
  check_range(decay_steps >= 1, name(), "decay_steps", "an integer >= 1", double(decay_steps));
  check_range(initial_variance >= 0, name(), "initial_variance", "a number >= 0", initial_variance);
  check_range(variance_decay >= 0, name(), "variance_decay", "a number >= 0", variance_decay);
  check_range(num_periods >= 0, name(), "num_periods", "a number >= 0", num_periods);
  check_range(alpha >= 0, name(), "alpha", "a number >= 0", alpha);
  check_range(beta >= 0, name(), "beta", "a number >= 0", beta);
  initial_step();
}

std::vector<double> NoisyLinearCosineDecay::get_lr() {
  const double decay_steps = double(decay_steps_);
  const double step = std::min(double(last_epoch_), decay_steps);
  const double linear_decayed = (decay_steps - step) / decay_steps;
  const double variance = initial_variance_ / std::pow(1.0 + step, variance_decay_);
  const double std_dev = std::sqrt(variance);
  const double noisy_linear_decayed =
      linear_decayed + standard_normal(seed_, uint64_t(last_epoch_)) * std_dev;
  const double completed_fraction = step / decay_steps;
  const double fraction = 2.0 * num_periods_ * completed_fraction;
  const double cosine_decayed = 0.5 * (1.0 + std::cos(pi * fraction));
  const double decayed = (alpha_ + noisy_linear_decayed) * cosine_decayed + beta_;
  return times(initial_learning_rate_, base_lrs_, decayed);
}

}  // namespace danlu::sched
