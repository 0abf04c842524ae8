// Adadelta: option checks and the per-parameter update loop (state:
// square_avg, acc_delta).
#include "optim/adadelta.h"

#include "engine/ops/dispatch.h"
#include "kernels/optim.h"

namespace danlu::optim {

void AdadeltaOptions::check(const std::string& where) const {
  check_option(lr_ >= 0.0, where, "lr", "a number >= 0", lr_);
  check_option(rho_ >= 0.0 && rho_ <= 1.0, where, "rho", "a number in [0, 1]", rho_);
  check_option(eps_ >= 0.0, where, "eps", "a number >= 0", eps_);
  check_option(weight_decay_ >= 0.0, where, "weight_decay", "a number >= 0", weight_decay_);
}

Adadelta::Adadelta(std::vector<Tensor> params, AdadeltaOptions options)
    : Adadelta(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adadelta::Adadelta(std::vector<ParamGroup> groups, AdadeltaOptions defaults)
    : TypedOptimizer("Adadelta", defaults) {
  add_groups(std::move(groups));
}

void Adadelta::step_group(size_t group, const std::vector<Slot>& slots) {
  const AdadeltaOptions& o = options(group);
  const bool cuda = slots[0].param.device().is_cuda();
  kernels::cuda::FusedTensors fused_tensors;
  for (const Slot& s : slots) {
    const Tensor square_avg = s.state.buffer("square_avg", s.param);
    const Tensor acc_delta = s.state.buffer("acc_delta", s.param);
    if (cuda) {
      fused_tensors.push_back(fused(s, {square_avg, acc_delta}));
      continue;
    }
    ops_detail::dispatch_floating(s.param.dtype(), "Adadelta", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::adadelta_update<T>(s.param.data<T>(), s.grad.data<T>(), square_avg.data<T>(),
                                       acc_delta.data<T>(), s.param.numel(), o.lr_, o.rho_,
                                       o.eps_, o.weight_decay_);
    });
  }
  if (cuda)
    DANLU_CUDA_ONLY(kernels::cuda::adadelta_update(fused_table(group), fused_tensors, o.lr_,
                                                   o.rho_, o.eps_, o.weight_decay_,
                                                   ops_detail::stream_of(slots[0].param)));
}

}  // namespace danlu::optim
