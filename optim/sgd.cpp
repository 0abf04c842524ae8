// SGD: option checks (torch.optim.SGD's) and the per-parameter update loop.
#include "optim/sgd.h"

#include "engine/ops/dispatch.h"
#include "kernels/optim.h"

namespace danlu::optim {

void SGDOptions::check(const std::string& where) const {
  check_option(lr_ >= 0.0, where, "lr", "a number >= 0", lr_);
  check_option(momentum_ >= 0.0, where, "momentum", "a number >= 0", momentum_);
  check_option(weight_decay_ >= 0.0, where, "weight_decay", "a number >= 0", weight_decay_);
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
  const bool cuda = slots[0].param.device().is_cuda();
  kernels::cuda::FusedTensors fused_tensors;
  for (const Slot& s : slots) {
    // The kernel sets the buffer to the first gradient (PyTorch's clone of d_p).
    const bool momentum = o.momentum_ != 0.0;
    const bool first = momentum && !s.state.buffers.count("momentum_buffer");
    Tensor buf = momentum ? s.state.buffer("momentum_buffer", s.param) : Tensor();
    if (cuda) {
      fused_tensors.push_back(fused(s, {buf}, first));
      continue;
    }
    ops_detail::dispatch_floating(s.param.dtype(), "SGD", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::sgd_update<T>(s.param.data<T>(), s.grad.data<T>(),
                                  momentum ? buf.data<T>() : nullptr, s.param.numel(), o.lr_,
                                  o.momentum_, o.dampening_, o.weight_decay_, o.nesterov_, first);
    });
  }
  if (cuda)
    DANLU_CUDA_ONLY(kernels::cuda::sgd_update(fused_table(group), fused_tensors, o.lr_,
                                              o.momentum_, o.dampening_, o.weight_decay_,
                                              o.nesterov_,
                                              ops_detail::stream_of(slots[0].param)));
}

}  // namespace danlu::optim
