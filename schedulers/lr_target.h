// The one thing a learning-rate scheduler knows about an optimizer: its param
// groups' learning rates (and, for CyclicLR/OneCycleLR, their momentum).
// optim::Optimizer implements it; schedulers include nothing else.
#pragma once

#include <cstddef>

namespace danlu::sched {

class LrTarget {
 public:
  virtual ~LrTarget() = default;

  virtual size_t num_param_groups() const = 0;
  virtual double lr(size_t group) const = 0;
  virtual void set_lr(size_t group, double lr) = 0;

  // Momentum as CyclicLR/OneCycleLR cycle it: SGD/RMSprop's `momentum`, or
  // beta1 for the Adam family. has_momentum() is false when there is none.
  virtual bool has_momentum() const { return false; }
  virtual double momentum(size_t /*group*/) const { return 0.0; }
  virtual void set_momentum(size_t /*group*/, double /*momentum*/) {}
};

}  // namespace danlu::sched
