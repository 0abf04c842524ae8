// Adagrad: option checks and the update rule (state: sum, which starts at
// initial_accumulator_value).
#include "optim/adagrad.h"

#include "kernels/optim.h"

namespace danlu::optim {

void AdagradOptions::check(const std::string& where) const {
  check_range(lr_ >= 0.0, where, "lr", "a number >= 0", lr_);
  check_range(lr_decay_ >= 0.0, where, "lr_decay", "a number >= 0", lr_decay_);
  check_range(weight_decay_ >= 0.0, where, "weight_decay", "a number >= 0", weight_decay_);
  check_range(initial_accumulator_value_ >= 0.0, where, "initial_accumulator_value",
              "a number >= 0", initial_accumulator_value_);
  check_range(eps_ >= 0.0, where, "eps", "a number >= 0", eps_);
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Adagrad(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults)
    : TypedOptimizer("Adagrad", defaults) {
  add_groups(std::move(groups));
}

void Adagrad::step_group(size_t group, const std::vector<Slot>& slots) {
  const AdagradOptions& o = options(group);
  update_slots(
      group, slots,
      [&](const Slot& s) {
        return SlotBuffers{{s.state.buffer("sum", s.param, o.initial_accumulator_value_)}};
      },
      [&](auto tag, const Slot& s, const SlotBuffers& b) {
        using T = decltype(tag);
        kernels::cpu::adagrad_update<T>(s.param.data<T>(), s.grad.data<T>(), b.data<T>(0),
                                        s.param.numel(), o.lr_, o.lr_decay_, o.weight_decay_,
                                        o.eps_, s.state.step);
      },
      [&](auto& table, const auto& tensors, auto stream) {
        kernels::cuda::adagrad_update(table, tensors, o.lr_, o.lr_decay_, o.weight_decay_,
                                      o.eps_, stream);
      });
}

}  // namespace danlu::optim
