// AdamW: the update rule (state as Adam's).
#include "optim/adamw.h"

#include "kernels/optim.h"

namespace danlu::optim {

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults)
    : TypedOptimizer("AdamW", defaults) {
  add_groups(std::move(groups));
}

void AdamW::step_group(size_t group, const std::vector<Slot>& slots) {
  const AdamWOptions& o = options(group);
  update_slots(
      group, slots,
      [&](const Slot& s) {
        return SlotBuffers{{s.state.buffer("exp_avg", s.param),
                            s.state.buffer("exp_avg_sq", s.param),
                            o.amsgrad_ ? s.state.buffer("max_exp_avg_sq", s.param) : Tensor()}};
      },
      [&](auto tag, const Slot& s, const SlotBuffers& b) {
        using T = decltype(tag);
        kernels::cpu::adamw_update<T>(s.param.data<T>(), s.grad.data<T>(), b.data<T>(0),
                                      b.data<T>(1), b.data<T>(2), s.param.numel(), o.lr_,
                                      o.betas_[0], o.betas_[1], o.eps_, o.weight_decay_,
                                      s.state.step);
      },
      [&](auto& table, const auto& tensors, auto stream) {
        kernels::cuda::adamw_update(table, tensors, o.lr_, o.betas_[0], o.betas_[1], o.eps_,
                                    o.weight_decay_, o.amsgrad_, stream);
      });
}

}  // namespace danlu::optim
