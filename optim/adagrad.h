// Adagrad (Duchi et al. 2011) with learning-rate decay and L2 weight decay,
// with exactly torch.optim.Adagrad's update rule, defaults and argument checks.
#pragma once

#include "optim/optimizer.h"

namespace danlu::optim {

struct AdagradOptions {
  explicit AdagradOptions(double lr = 1e-2) : lr_(lr) {}
  AdagradOptions& lr(double v) { lr_ = v; return *this; }
  AdagradOptions& lr_decay(double v) { lr_decay_ = v; return *this; }
  AdagradOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  AdagradOptions& initial_accumulator_value(double v) {
    initial_accumulator_value_ = v;
    return *this;
  }
  AdagradOptions& eps(double v) { eps_ = v; return *this; }

  double lr_;
  double lr_decay_ = 0.0;
  double weight_decay_ = 0.0;
  double initial_accumulator_value_ = 0.0;
  double eps_ = 1e-10;

  template <class F> void fields(F&& f) {
    f("lr", lr_); f("lr_decay", lr_decay_); f("weight_decay", weight_decay_);
    f("initial_accumulator_value", initial_accumulator_value_); f("eps", eps_);
  }
  void check(const std::string& where) const;
};

class Adagrad : public TypedOptimizer<AdagradOptions> {
 public:
  explicit Adagrad(std::vector<Tensor> params, AdagradOptions options = AdagradOptions());
  explicit Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults = AdagradOptions());

 private:
  void step_group(size_t group, const std::vector<Slot>& slots) override;
};

}  // namespace danlu::optim
