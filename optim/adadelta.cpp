// Adadelta: option checks and the update rule (state:
// square_avg, acc_delta).
#include "optim/adadelta.h"

#include "kernels/optim.h"

namespace danlu::optim {

void AdadeltaOptions::check(const std::string& where) const {
  check_range(lr_ >= 0.0, where, "lr", "a number >= 0", lr_);
  check_range(rho_ >= 0.0 && rho_ <= 1.0, where, "rho", "a number in [0, 1]", rho_);
  check_range(eps_ >= 0.0, where, "eps", "a number >= 0", eps_);
  check_range(weight_decay_ >= 0.0, where, "weight_decay", "a number >= 0", weight_decay_);
}

Adadelta::Adadelta(std::vector<Tensor> params, AdadeltaOptions options)
    : Adadelta(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adadelta::Adadelta(std::vector<ParamGroup> groups, AdadeltaOptions defaults)
    : TypedOptimizer("Adadelta", defaults) {
  add_groups(std::move(groups));
}

void Adadelta::step_group(size_t group, const std::vector<Slot>& slots) {
  const AdadeltaOptions& o = options(group);
  update_slots(
      group, slots,
      [&](const Slot& s) {
        return SlotBuffers{
            {s.state.buffer("square_avg", s.param), s.state.buffer("acc_delta", s.param)}};
      },
      [&](auto tag, const Slot& s, const SlotBuffers& b) {
        using T = decltype(tag);
        kernels::cpu::adadelta_update<T>(s.param.data<T>(), s.grad.data<T>(), b.data<T>(0),
                                         b.data<T>(1), s.param.numel(), o.lr_, o.rho_, o.eps_,
                                         o.weight_decay_);
      },
      [&](auto& table, const auto& tensors, auto stream) {
        kernels::cuda::adadelta_update(table, tensors, o.lr_, o.rho_, o.eps_, o.weight_decay_,
                                       stream);
      });
}

}  // namespace danlu::optim
