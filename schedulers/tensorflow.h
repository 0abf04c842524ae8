// TensorFlow's cosine decays that PyTorch lacks (tf.keras.optimizers.schedules
// and tf.compat.v1.train), with TF's parameter names and formulas:
// CosineDecay, CosineDecayRestarts, LinearCosineDecay, NoisyLinearCosineDecay.
// The step is last_epoch. TF computes in the learning rate's dtype (usually
// float32); these compute in float64.
//
// initial_learning_rate is optional here: std::nullopt means each param
// group's own lr, so per-group lrs survive; a number sets every group's lr.
#pragma once

#include <optional>

#include "schedulers/scheduler.h"

namespace danlu::sched {

// lr = initial_learning_rate * ((1 - alpha) * cosine + alpha), where
// cosine = 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)).
class CosineDecay final : public LRScheduler {
 public:
  CosineDecay(LrTarget& target, std::optional<double> initial_learning_rate, int64_t decay_steps,
              double alpha = 0.0);
  std::string name() const override { return "CosineDecay"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::optional<double> initial_learning_rate_;
  int64_t decay_steps_;
  double alpha_;
};

// SGDR: period i lasts first_decay_steps * t_mul^i steps and starts at
// m_mul^i times the initial lr; each period is a CosineDecay.
class CosineDecayRestarts final : public LRScheduler {
 public:
  CosineDecayRestarts(LrTarget& target, std::optional<double> initial_learning_rate,
                      int64_t first_decay_steps, double t_mul = 2.0, double m_mul = 1.0,
                      double alpha = 0.0);
  std::string name() const override { return "CosineDecayRestarts"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::optional<double> initial_learning_rate_;
  int64_t first_decay_steps_;
  double t_mul_;
  double m_mul_;
  double alpha_;
};

// Neural Optimizer Search's linear cosine decay:
// lr = initial_learning_rate * ((alpha + linear) * cosine + beta), where
// linear = 1 - s / decay_steps and cosine = 0.5 * (1 + cos(2 pi num_periods s / decay_steps)),
// with s = min(step, decay_steps).
class LinearCosineDecay final : public LRScheduler {
 public:
  LinearCosineDecay(LrTarget& target, std::optional<double> initial_learning_rate,
                    int64_t decay_steps, double num_periods = 0.5, double alpha = 0.0,
                    double beta = 0.001);
  std::string name() const override { return "LinearCosineDecay"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::optional<double> initial_learning_rate_;
  int64_t decay_steps_;
  double num_periods_;
  double alpha_;
  double beta_;
};

// LinearCosineDecay with Gaussian noise on the linear term, of variance
// initial_variance / (1 + step)^variance_decay. The noise of step t is
// standard_normal(seed, t) (schedulers/noise.h), so a run is reproducible
// and a resumed run continues with the same noise.
class NoisyLinearCosineDecay final : public LRScheduler {
 public:
  NoisyLinearCosineDecay(LrTarget& target, std::optional<double> initial_learning_rate,
                         int64_t decay_steps, double initial_variance = 1.0,
                         double variance_decay = 0.55, double num_periods = 0.5,
                         double alpha = 0.0, double beta = 0.001, uint64_t seed = 0);
  std::string name() const override { return "NoisyLinearCosineDecay"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::optional<double> initial_learning_rate_;
  int64_t decay_steps_;
  double initial_variance_;
  double variance_decay_;
  double num_periods_;
  double alpha_;
  double beta_;
  uint64_t seed_;
};

}  // namespace danlu::sched
