// RMSprop (Hinton, Coursera lecture 6e) with momentum, the centered variant
// (Graves 2013) and L2 weight decay, with exactly torch.optim.RMSprop's update
// rule, defaults and argument checks.
#pragma once

#include "optim/optimizer.h"

namespace danlu::optim {

struct RMSpropOptions {
  explicit RMSpropOptions(double lr = 1e-2) : lr_(lr) {}
  RMSpropOptions& lr(double v) { lr_ = v; return *this; }
  RMSpropOptions& alpha(double v) { alpha_ = v; return *this; }
  RMSpropOptions& eps(double v) { eps_ = v; return *this; }
  RMSpropOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  RMSpropOptions& momentum(double v) { momentum_ = v; return *this; }
  RMSpropOptions& centered(bool v) { centered_ = v; return *this; }

  double lr_;
  double alpha_ = 0.99;
  double eps_ = 1e-8;
  double weight_decay_ = 0.0;
  double momentum_ = 0.0;
  bool centered_ = false;

  template <class F> void fields(F&& f) {
    f("lr", lr_); f("alpha", alpha_); f("eps", eps_); f("weight_decay", weight_decay_);
    f("momentum", momentum_); f("centered", centered_);
  }
  void check(const std::string& where) const;
};

class RMSprop : public TypedOptimizer<RMSpropOptions> {
 public:
  explicit RMSprop(std::vector<Tensor> params, RMSpropOptions options = RMSpropOptions());
  explicit RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults = RMSpropOptions());

  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options(group).momentum_; }
  void set_momentum(size_t group, double m) override { options(group).momentum_ = m; }

 private:
  void step_group(size_t group, const std::vector<Slot>& slots) override;
};

}  // namespace danlu::optim
