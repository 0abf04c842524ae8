// Adadelta (Zeiler 2012) with L2 weight decay, with exactly
// torch.optim.Adadelta's update rule, defaults and argument checks.
#pragma once

#include "optim/optimizer.h"

namespace danlu::optim {

struct AdadeltaOptions {
  explicit AdadeltaOptions(double lr = 1.0) : lr_(lr) {}
  AdadeltaOptions& lr(double v) { lr_ = v; return *this; }
  AdadeltaOptions& rho(double v) { rho_ = v; return *this; }
  AdadeltaOptions& eps(double v) { eps_ = v; return *this; }
  AdadeltaOptions& weight_decay(double v) { weight_decay_ = v; return *this; }

  double lr_;
  double rho_ = 0.9;
  double eps_ = 1e-6;
  double weight_decay_ = 0.0;

  template <class F> void fields(F&& f) {
    f("lr", lr_); f("rho", rho_); f("eps", eps_); f("weight_decay", weight_decay_);
  }
  void check(const std::string& where) const;
};

class Adadelta : public TypedOptimizer<AdadeltaOptions> {
 public:
  explicit Adadelta(std::vector<Tensor> params, AdadeltaOptions options = AdadeltaOptions());
  explicit Adadelta(std::vector<ParamGroup> groups, AdadeltaOptions defaults = AdadeltaOptions());

 private:
  void step_group(size_t group, const std::vector<Slot>& slots) override;
};

}  // namespace danlu::optim
