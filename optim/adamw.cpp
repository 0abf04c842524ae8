// AdamW: the per-parameter update loop (state as Adam's).
#include "optim/adamw.h"

#include "engine/ops/dispatch.h"
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
    ops_detail::dispatch_floating(s.param.dtype(), "AdamW", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::adamw_update<T>(s.param.data<T>(), s.grad.data<T>(), m.data<T>(),
                                    v.data<T>(), data_or_null<T>(v_max), s.param.numel(), o.lr_,
                                    o.betas_[0], o.betas_[1], o.eps_, o.weight_decay_,
                                    s.state.step);
    });
  }
  if (cuda)
    DANLU_CUDA_ONLY(kernels::cuda::adamw_update(fused_table(group), fused_tensors, o.lr_,
                                                o.betas_[0], o.betas_[1], o.eps_, o.weight_decay_,
                                                o.amsgrad_, ops_detail::stream_of(slots[0].param)));
}

}  // namespace danlu::optim
