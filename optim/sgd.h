// Stochastic gradient descent with momentum, dampening, Nesterov momentum and
// L2 weight decay, with exactly torch.optim.SGD's update rule and defaults.
#pragma once

#include "optim/optimizer.h"

namespace danlu::optim {

struct SGDOptions {
  explicit SGDOptions(double lr) : lr_(lr) {}  // no default: PyTorch requires lr
  SGDOptions& lr(double v) { lr_ = v; return *this; }
  SGDOptions& momentum(double v) { momentum_ = v; return *this; }
  SGDOptions& dampening(double v) { dampening_ = v; return *this; }
  SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }

  double lr_;
  double momentum_ = 0.0;
  double dampening_ = 0.0;
  double weight_decay_ = 0.0;
  bool nesterov_ = false;

  template <class F> void fields(F&& f) {
    f("lr", lr_); f("momentum", momentum_); f("dampening", dampening_);
    f("weight_decay", weight_decay_); f("nesterov", nesterov_);
  }
  void check(const std::string& where) const;
};

class SGD : public TypedOptimizer<SGDOptions> {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults);

  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options(group).momentum_; }
  void set_momentum(size_t group, double m) override { options(group).momentum_ = m; }

 private:
  void step_group(size_t group, const std::vector<Slot>& slots) override;
};

}  // namespace danlu::optim
