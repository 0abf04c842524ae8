// Adam (Kingma & Ba 2015) with L2 weight decay and the AMSGrad variant, with
// exactly torch.optim.Adam's update rule, defaults and argument checks.
#pragma once

#include "optim/optimizer.h"

namespace danlu::optim {

struct AdamOptions {
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  AdamOptions& lr(double v) { lr_ = v; return *this; }
  AdamOptions& betas(Betas v) { betas_ = v; return *this; }
  AdamOptions& eps(double v) { eps_ = v; return *this; }
  AdamOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  AdamOptions& amsgrad(bool v) { amsgrad_ = v; return *this; }

  double lr_;
  Betas betas_ = {0.9, 0.999};
  double eps_ = 1e-8;
  double weight_decay_ = 0.0;  // L2: added to the gradient
  bool amsgrad_ = false;

  template <class F> void fields(F&& f) {
    f("lr", lr_); f("betas", betas_); f("eps", eps_); f("weight_decay", weight_decay_);
    f("amsgrad", amsgrad_);
  }
  void check(const std::string& where) const;
};

// The argument checks Adam and AdamW share (PyTorch's, in its order).
void check_adam_options(double lr, Betas betas, double eps, double weight_decay,
                        const std::string& where);

class Adam : public TypedOptimizer<AdamOptions> {
 public:
  explicit Adam(std::vector<Tensor> params, AdamOptions options = AdamOptions());
  explicit Adam(std::vector<ParamGroup> groups, AdamOptions defaults = AdamOptions());

  // CyclicLR/OneCycleLR cycle beta1 as the momentum.
  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options(group).betas_[0]; }
  void set_momentum(size_t group, double m) override { options(group).betas_[0] = m; }

 private:
  void step_group(size_t group, const std::vector<Slot>& slots) override;
};

}  // namespace danlu::optim
