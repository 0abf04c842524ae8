// SGD: validation of the options and the per-parameter update loop.
#include "optim/sgd.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "kernels/optim.h"

namespace danlu::optim {

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : params_(std::move(params)), momentum_buffers_(params_.size()), options_(options) {
  DANLU_CHECK(options_.lr_ >= 0.0, "SGD: invalid learning rate ", options_.lr_,
              "; it must be >= 0");
  DANLU_CHECK(options_.momentum_ >= 0.0, "SGD: invalid momentum ", options_.momentum_,
              "; it must be >= 0");
  DANLU_CHECK(options_.weight_decay_ >= 0.0, "SGD: invalid weight_decay ",
              options_.weight_decay_, "; it must be >= 0");
  DANLU_CHECK(!options_.nesterov_ || (options_.momentum_ > 0.0 && options_.dampening_ == 0.0),
              "SGD: nesterov momentum requires momentum > 0 and dampening = 0");
}

void SGD::step() {
  NoGradGuard no_grad;
  const SGDOptions& o = options_;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    const Tensor g = p.grad();
    if (!p.requires_grad() || !g.defined()) continue;
    const bool first = !momentum_buffers_[i].defined();
    if (o.momentum_ != 0.0 && first) momentum_buffers_[i] = ops_detail::empty_like(p);
    ops_detail::dispatch_floating(p.dtype(), "SGD", [&](auto tag) {
      using T = decltype(tag);
      T* buf = o.momentum_ != 0.0 ? momentum_buffers_[i].data<T>() : nullptr;
      kernels::cpu::sgd_update<T>(p.data<T>(), g.data<T>(), buf, p.numel(), o.lr_, o.momentum_,
                                  o.dampening_, o.weight_decay_, o.nesterov_, first);
    });
  }
}

void SGD::zero_grad() {
  for (const Tensor& p : params_) p.zero_grad();
}

}  // namespace danlu::optim
