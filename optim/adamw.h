// AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, with
// exactly torch.optim.AdamW's update rule, defaults and argument checks.
#pragma once

#include "optim/adam.h"

namespace danlu::optim {

struct AdamWOptions {
  explicit AdamWOptions(double lr = 1e-3) : lr_(lr) {}
  AdamWOptions& lr(double v) { lr_ = v; return *this; }
  AdamWOptions& betas(Betas v) { betas_ = v; return *this; }
  AdamWOptions& eps(double v) { eps_ = v; return *this; }
  AdamWOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  AdamWOptions& amsgrad(bool v) { amsgrad_ = v; return *this; }

  double lr_;
  Betas betas_ = {0.9, 0.999};
  double eps_ = 1e-8;
  double weight_decay_ = 1e-2;  // decoupled: p *= 1 - lr * weight_decay
  bool amsgrad_ = false;

  template <class F> void fields(F&& f) {
    f("lr", lr_); f("betas", betas_); f("eps", eps_); f("weight_decay", weight_decay_);
    f("amsgrad", amsgrad_);
  }
  void check(const std::string& where) const {
    check_adam_options(lr_, betas_, eps_, weight_decay_, where);
  }
};

class AdamW : public TypedOptimizer<AdamWOptions> {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = AdamWOptions());
  explicit AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults = AdamWOptions());

  // CyclicLR/OneCycleLR cycle beta1 as the momentum.
  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options(group).betas_[0]; }
  void set_momentum(size_t group, double m) override { options(group).betas_[0] = m; }

 private:
  void step_group(size_t group, const std::vector<Slot>& slots) override;
};

}  // namespace danlu::optim
