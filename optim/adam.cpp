// Adam: option checks and the update rule (state: exp_avg, exp_avg_sq, and
// max_exp_avg_sq with amsgrad).
#include "optim/adam.h"

#include "kernels/optim.h"

namespace danlu::optim {

void check_adam_options(double lr, Betas betas, double eps, double weight_decay,
                        const std::string& where) {
  check_range(lr >= 0.0, where, "lr", "a number >= 0", lr);
  check_range(eps >= 0.0, where, "eps", "a number >= 0", eps);
  check_range(betas[0] >= 0.0 && betas[0] < 1.0, where, "betas[0]", "a number in [0, 1)",
              betas[0]);
  check_range(betas[1] >= 0.0 && betas[1] < 1.0, where, "betas[1]", "a number in [0, 1)",
              betas[1]);
  check_range(weight_decay >= 0.0, where, "weight_decay", "a number >= 0", weight_decay);
}

void AdamOptions::check(const std::string& where) const {
  check_adam_options(lr_, betas_, eps_, weight_decay_, where);
}

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions defaults)
    : TypedOptimizer("Adam", defaults) {
  add_groups(std::move(groups));
}

void Adam::step_group(size_t group, const std::vector<Slot>& slots) {
  const AdamOptions& o = options(group);
  update_slots(
      group, slots,
      [&](const Slot& s) {
        return SlotBuffers{{s.state.buffer("exp_avg", s.param),
                            s.state.buffer("exp_avg_sq", s.param),
                            o.amsgrad_ ? s.state.buffer("max_exp_avg_sq", s.param) : Tensor()}};
      },
      [&](auto tag, const Slot& s, const SlotBuffers& b) {
        using T = decltype(tag);
        kernels::cpu::adam_update<T>(s.param.data<T>(), s.grad.data<T>(), b.data<T>(0),
                                     b.data<T>(1), b.data<T>(2), s.param.numel(), o.lr_,
                                     o.betas_[0], o.betas_[1], o.eps_, o.weight_decay_,
                                     s.state.step);
      },
      [&](auto& table, const auto& tensors, auto stream) {
        kernels::cuda::adam_update(table, tensors, o.lr_, o.betas_[0], o.betas_[1], o.eps_,
                                   o.weight_decay_, o.amsgrad_, stream);
      });
}

}  // namespace danlu::optim
