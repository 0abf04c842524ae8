// SGD: option checks (torch.optim.SGD's) and the update rule (state:
// momentum_buffer when momentum != 0).
#include "optim/sgd.h"

#include "kernels/optim.h"

namespace danlu::optim {

void SGDOptions::check(const std::string& where) const {
  check_range(lr_ >= 0.0, where, "lr", "a number >= 0", lr_);
  check_range(momentum_ >= 0.0, where, "momentum", "a number >= 0", momentum_);
  check_range(weight_decay_ >= 0.0, where, "weight_decay", "a number >= 0", weight_decay_);
  DANLU_CHECK(!nesterov_ || (momentum_ > 0.0 && dampening_ == 0.0), where,
              ".nesterov: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum ",
              momentum_, " and dampening ", dampening_);
}

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults)
    : TypedOptimizer("SGD", defaults) {
  add_groups(std::move(groups));
}

void SGD::step_group(size_t group, const std::vector<Slot>& slots) {
  const SGDOptions& o = options(group);
  const bool momentum = o.momentum_ != 0.0;
  update_slots(
      group, slots,
      [&](const Slot& s) {
        // The kernel sets a new buffer to the gradient (PyTorch's clone of d_p).
        const bool first = momentum && !s.state.buffers.count("momentum_buffer");
        return SlotBuffers{{momentum ? s.state.buffer("momentum_buffer", s.param) : Tensor()},
                           first};
      },
      [&](auto tag, const Slot& s, const SlotBuffers& b) {
        using T = decltype(tag);
        kernels::cpu::sgd_update<T>(s.param.data<T>(), s.grad.data<T>(), b.data<T>(0),
                                    s.param.numel(), o.lr_, o.momentum_, o.dampening_,
                                    o.weight_decay_, o.nesterov_, b.fresh);
      },
      [&](auto& table, const auto& tensors, auto stream) {
        kernels::cuda::sgd_update(table, tensors, o.lr_, o.momentum_, o.dampening_,
                                  o.weight_decay_, o.nesterov_, stream);
      });
}

}  // namespace danlu::optim
