// Gradient clipping: joint norm over the gradients, then one rescale or clamp
// per gradient tensor.
#include "optim/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "engine/ops/dispatch.h"
#include "kernels/optim.h"

namespace danlu::optim {

// The gradients clipping acts on: every defined one, as PyTorch's
// `p.grad is not None`.
static std::vector<Tensor> defined_grads(const std::vector<Tensor>& params, const char* op) {
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    Tensor g = p.defined() ? p.grad() : Tensor();
    if (!g.defined()) continue;
    DANLU_CHECK(g.device().is_cpu(), op, ": ", g.str(),
                " is not on the CPU; this build clips CPU gradients only");
    grads.push_back(g);
  }
  return grads;
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  DANLU_CHECK(norm_type > 0.0, "clip_grad_norm_: norm_type must be > 0 or inf, got ", norm_type);
  DANLU_CHECK(max_norm >= 0.0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  const std::vector<Tensor> grads = defined_grads(params, "clip_grad_norm_");
  if (grads.empty()) return 0.0;
  const bool inf_norm = std::isinf(norm_type);
  // sum |g|^p over every gradient, then the p-th root: PyTorch's norm of the
  // per-gradient norms without the round trip through each root.
  double total = 0.0;
  for (const Tensor& g : grads) {
    const double part = ops_detail::dispatch_floating(g.dtype(), "clip_grad_norm_", [&](auto tag) {
      using T = decltype(tag);
      return kernels::cpu::clip_grad_norm_part<T>(g.data<T>(), g.numel(), norm_type);
    });
    if (inf_norm) {
      total = std::isnan(part) || std::isnan(total) ? NAN : std::max(total, part);
    } else {
      total += part;
    }
  }
  if (!inf_norm) total = std::pow(total, 1.0 / norm_type);
  DANLU_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_: the total norm of ",
              "order ", norm_type, " of the gradients is ", total, ", so they cannot be clipped; ",
              "pass error_if_nonfinite=false to scale them by it anyway");
  // clamp(NaN, max=1) is NaN in PyTorch; an inf norm gives 0.
  const double scale = std::isnan(total) ? NAN : std::min(max_norm / (total + 1e-6), 1.0);
  for (const Tensor& g : grads)
    ops_detail::dispatch_floating(g.dtype(), "clip_grad_norm_", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::clip_grad_scale<T>(g.data<T>(), g.numel(), scale);
    });
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  DANLU_CHECK(clip_value >= 0.0, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  for (const Tensor& g : defined_grads(params, "clip_grad_value_"))
    ops_detail::dispatch_floating(g.dtype(), "clip_grad_value_", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::clip_grad_value<T>(g.data<T>(), g.numel(), clip_value);
    });
}

}  // namespace danlu::optim
