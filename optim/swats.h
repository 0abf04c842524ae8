// SWATS, "Improving Generalization Performance by Switching from Adam to SGD"
// (Keskar & Socher 2017, arXiv:1712.07628, Algorithm 1). Each param group
// starts with Adam; after every Adam step it projects the step s onto the
// gradient g to estimate the SGD rate gamma = s.s / -s.g, averages it as
// lambda = beta2 * lambda + (1 - beta2) * gamma, and switches the group to SGD
// with momentum beta1 at the rate Lambda = lambda / (1 - beta2^k) once k > 1
// and |Lambda - gamma| < eps_switch. The dot products run over all of the
// group's parameters (the paper's whole-network vector for a single group).
#pragma once

#include "optim/optimizer.h"

namespace danlu::optim {

struct SWATSOptions {
  explicit SWATSOptions(double lr = 1e-3) : lr_(lr) {}
  SWATSOptions& lr(double v) { lr_ = v; return *this; }
  SWATSOptions& betas(Betas v) { betas_ = v; return *this; }
  SWATSOptions& eps(double v) { eps_ = v; return *this; }
  SWATSOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  SWATSOptions& eps_switch(double v) { eps_switch_ = v; return *this; }

  double lr_;
  Betas betas_ = {0.9, 0.999};
  double eps_ = 1e-9;          // Adam's denominator term; the paper's epsilon
  double weight_decay_ = 0.0;  // L2, added to the gradient in both phases
  double eps_switch_ = 1e-9;   // the switching tolerance; also the paper's epsilon

  template <class F> void fields(F&& f) {
    f("lr", lr_); f("betas", betas_); f("eps", eps_); f("weight_decay", weight_decay_);
    f("eps_switch", eps_switch_);
  }
  void check(const std::string& where) const;
};

class SWATS : public TypedOptimizer<SWATSOptions> {
 public:
  explicit SWATS(std::vector<Tensor> params, SWATSOptions options = SWATSOptions());
  explicit SWATS(std::vector<ParamGroup> groups, SWATSOptions defaults = SWATSOptions());

  bool switched(size_t group = 0) const { return phase(group).switched; }
  // The step k after which the group switched (0 while it runs Adam).
  int64_t switch_step(size_t group = 0) const { return phase(group).switch_step; }
  // Lambda, the SGD rate estimated at the switch (0 before). The SGD phase
  // steps with Lambda * lr / (lr at the switch), so a scheduler that keeps
  // changing lr scales the SGD rate too; with a constant lr it is Lambda.
  double sgd_lr(size_t group = 0) const { return phase(group).sgd_lr; }

  // CyclicLR/OneCycleLR cycle beta1, the momentum of both phases.
  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options(group).betas_[0]; }
  void set_momentum(size_t group, double m) override { options(group).betas_[0] = m; }

 private:
  struct Phase {
    int64_t step = 0;      // k: the group's steps so far
    double lambda = 0.0;   // the running average of gamma
    bool switched = false;
    int64_t switch_step = 0;
    double sgd_lr = 0.0;     // Lambda
    double switch_lr = 0.0;  // the group's lr when it switched
  };
  Phase phase(size_t group) const;
  static Phase phase_from_json(const nlohmann::json& j, const std::string& where);
  void step_group(size_t group, const std::vector<Slot>& slots) override;
  nlohmann::json group_state() const override;
  void check_group_state(const nlohmann::json& j, const std::string& where) const override;
  void set_group_state(const nlohmann::json& j) override;

  std::vector<Phase> phases_;  // grows with the groups on their first step
};

}  // namespace danlu::optim
