// Adam: option checks and the per-parameter update loop (state: exp_avg,
// exp_avg_sq, and max_exp_avg_sq with amsgrad).
#include "optim/adam.h"

#include "engine/ops/dispatch.h"
#include "kernels/optim.h"

namespace danlu::optim {

void check_adam_options(double lr, Betas betas, double eps, double weight_decay,
                        const std::string& where) {
  check_option(lr >= 0.0, where, "lr", "a number >= 0", lr);
  check_option(eps >= 0.0, where, "eps", "a number >= 0", eps);
  check_option(betas[0] >= 0.0 && betas[0] < 1.0, where, "betas[0]", "a number in [0, 1)",
               betas[0]);
  check_option(betas[1] >= 0.0 && betas[1] < 1.0, where, "betas[1]", "a number in [0, 1)",
               betas[1]);
  check_option(weight_decay >= 0.0, where, "weight_decay", "a number >= 0", weight_decay);
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
  const bool cuda = slots[0].param.device().is_cuda();
  kernels::cuda::FusedTensors fused_tensors;
  for (const Slot& s : slots) {
    const Tensor m = s.state.buffer("exp_avg", s.param);
    const Tensor v = s.state.buffer("exp_avg_sq", s.param);
    const Tensor v_max = o.amsgrad_ ? s.state.buffer("max_exp_avg_sq", s.param) : Tensor();
    if (cuda) {
      fused_tensors.push_back(fused(s, {m, v, v_max}));
      continue;
    }
    ops_detail::dispatch_floating(s.param.dtype(), "Adam", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::adam_update<T>(s.param.data<T>(), s.grad.data<T>(), m.data<T>(), v.data<T>(),
                                   data_or_null<T>(v_max), s.param.numel(), o.lr_, o.betas_[0],
                                   o.betas_[1], o.eps_, o.weight_decay_, s.state.step);
    });
  }
  if (cuda)
    DANLU_CUDA_ONLY(kernels::cuda::adam_update(fused_table(group), fused_tensors, o.lr_,
                                               o.betas_[0], o.betas_[1], o.eps_, o.weight_decay_,
                                               o.amsgrad_, ops_detail::stream_of(slots[0].param)));
}

}  // namespace danlu::optim
