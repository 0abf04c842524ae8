// Adagrad: option checks and the per-parameter update loop (state: sum, which
// starts at initial_accumulator_value).
#include "optim/adagrad.h"

#include "engine/ops/dispatch.h"
#include "kernels/optim.h"

namespace danlu::optim {

void AdagradOptions::check(const std::string& where) const {
  check_option(lr_ >= 0.0, where, "lr", "a number >= 0", lr_);
  check_option(lr_decay_ >= 0.0, where, "lr_decay", "a number >= 0", lr_decay_);
  check_option(weight_decay_ >= 0.0, where, "weight_decay", "a number >= 0", weight_decay_);
  check_option(initial_accumulator_value_ >= 0.0, where, "initial_accumulator_value",
               "a number >= 0", initial_accumulator_value_);
  check_option(eps_ >= 0.0, where, "eps", "a number >= 0", eps_);
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Adagrad(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults)
    : TypedOptimizer("Adagrad", defaults) {
  add_groups(std::move(groups));
}

void Adagrad::step_group(size_t group, const std::vector<Slot>& slots) {
  const AdagradOptions& o = options(group);
  const bool cuda = slots[0].param.device().is_cuda();
  kernels::cuda::FusedTensors fused_tensors;
  for (const Slot& s : slots) {
    const Tensor sum = s.state.buffer("sum", s.param, o.initial_accumulator_value_);
    if (cuda) {
      fused_tensors.push_back(fused(s, {sum}));
      continue;
    }
    ops_detail::dispatch_floating(s.param.dtype(), "Adagrad", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::adagrad_update<T>(s.param.data<T>(), s.grad.data<T>(), sum.data<T>(),
                                      s.param.numel(), o.lr_, o.lr_decay_, o.weight_decay_,
                                      o.eps_, s.state.step);
    });
  }
  if (cuda)
    DANLU_CUDA_ONLY(kernels::cuda::adagrad_update(fused_table(group), fused_tensors, o.lr_,
                                                  o.lr_decay_, o.weight_decay_, o.eps_,
                                                  ops_detail::stream_of(slots[0].param)));
}

}  // namespace danlu::optim
