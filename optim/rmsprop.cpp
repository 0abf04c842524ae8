// RMSprop: option checks and the update rule (state:
// square_avg, momentum_buffer when momentum > 0, grad_avg when centered).
#include "optim/rmsprop.h"

#include "kernels/optim.h"

namespace danlu::optim {

// PyTorch checks alpha >= 0 only: alpha > 1 is accepted (and diverges).
void RMSpropOptions::check(const std::string& where) const {
  check_range(lr_ >= 0.0, where, "lr", "a number >= 0", lr_);
  check_range(eps_ >= 0.0, where, "eps", "a number >= 0", eps_);
  check_range(momentum_ >= 0.0, where, "momentum", "a number >= 0", momentum_);
  check_range(weight_decay_ >= 0.0, where, "weight_decay", "a number >= 0", weight_decay_);
  check_range(alpha_ >= 0.0, where, "alpha", "a number >= 0", alpha_);
}

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options)
    : RMSprop(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults)
    : TypedOptimizer("RMSprop", defaults) {
  add_groups(std::move(groups));
}

void RMSprop::step_group(size_t group, const std::vector<Slot>& slots) {
  const RMSpropOptions& o = options(group);
  update_slots(
      group, slots,
      [&](const Slot& s) {
        return SlotBuffers{
            {s.state.buffer("square_avg", s.param),
             o.centered_ ? s.state.buffer("grad_avg", s.param) : Tensor(),
             o.momentum_ > 0.0 ? s.state.buffer("momentum_buffer", s.param) : Tensor()}};
      },
      [&](auto tag, const Slot& s, const SlotBuffers& b) {
        using T = decltype(tag);
        kernels::cpu::rmsprop_update<T>(s.param.data<T>(), s.grad.data<T>(), b.data<T>(0),
                                        b.data<T>(1), b.data<T>(2), s.param.numel(), o.lr_,
                                        o.alpha_, o.eps_, o.weight_decay_, o.momentum_);
      },
      [&](auto& table, const auto& tensors, auto stream) {
        kernels::cuda::rmsprop_update(table, tensors, o.lr_, o.alpha_, o.eps_, o.weight_decay_,
                                      o.centered_, o.momentum_, stream);
      });
}

}  // namespace danlu::optim
