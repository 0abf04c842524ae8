// Gradient clipping: joint norm over the gradients, then one rescale or clamp
// per gradient tensor on the CPU, or one fused launch per GPU.
#include "optim/clip_grad.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "engine/ops/dispatch.h"
#include "kernels/optim.h"

namespace danlu::optim {

namespace {

// The gradients clipping acts on (every defined one, as PyTorch's `p.grad is
// not None`), by device: CPU tensors, and per GPU the tensors of one fused
// launch (in `param`, the array the clipping kernels read and rewrite).
struct Grads {
  std::vector<Tensor> cpu;
  std::map<int, kernels::cuda::FusedTensors> cuda;  // by device index
};

Grads defined_grads(const std::vector<Tensor>& params, const char* op) {
  Grads grads;
  for (const Tensor& p : params) {
    Tensor g = p.defined() ? p.grad() : Tensor();
    if (!g.defined()) continue;
    if (g.device().is_cpu()) {
      grads.cpu.push_back(g);
      continue;
    }
    ops_detail::check_cuda_f32(op, g);
    kernels::cuda::FusedTensor t;
    t.param = g.data<float>();
    t.n = g.numel();
    grads.cuda[g.device().index].push_back(t);
  }
  return grads;
}

#ifdef DANLU_WITH_CUDA
// The launch table clipping uses on GPU `index`, one per thread and device.
kernels::cuda::FusedTable& clip_table(int index) {
  thread_local std::map<int, std::unique_ptr<kernels::cuda::FusedTable>> tables;
  std::unique_ptr<kernels::cuda::FusedTable>& t = tables[index];
  if (!t) t = std::make_unique<kernels::cuda::FusedTable>();
  return *t;
}
#endif

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  DANLU_CHECK(norm_type > 0.0, "clip_grad_norm_: norm_type must be > 0 or inf, got ", norm_type);
  DANLU_CHECK(max_norm >= 0.0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  const Grads grads = defined_grads(params, "clip_grad_norm_");
  if (grads.cpu.empty() && grads.cuda.empty()) return 0.0;
  const bool inf_norm = std::isinf(norm_type);
  // sum |g|^p over every gradient, then the p-th root: PyTorch's norm of the
  // per-gradient norms without the round trip through each root. A GPU's
  // gradients give one part (one reduction over all of them).
  double total = 0.0;
  const auto add_part = [&](double part) {
    if (inf_norm) {
      total = std::isnan(part) || std::isnan(total) ? NAN : std::max(total, part);
    } else {
      total += part;
    }
  };
  for (const Tensor& g : grads.cpu)
    add_part(ops_detail::dispatch_floating(g.dtype(), "clip_grad_norm_", [&](auto tag) {
      using T = decltype(tag);
      return kernels::cpu::clip_grad_norm_part<T>(g.data<T>(), g.numel(), norm_type);
    }));
  for (const auto& [index, tensors] : grads.cuda)
    DANLU_CUDA_ONLY(add_part(kernels::cuda::clip_grad_norm_part(
        clip_table(index), tensors, norm_type, compute_stream(Device::cuda(index)))));
  if (!inf_norm) total = std::pow(total, 1.0 / norm_type);
  DANLU_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_: the total norm of ",
              "order ", norm_type, " of the gradients is ", total, ", so they cannot be clipped; ",
              "pass error_if_nonfinite=false to scale them by it anyway");
  // clamp(NaN, max=1) is NaN in PyTorch; an inf norm gives 0.
  const double scale = std::isnan(total) ? NAN : std::min(max_norm / (total + 1e-6), 1.0);
  for (const Tensor& g : grads.cpu)
    ops_detail::dispatch_floating(g.dtype(), "clip_grad_norm_", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::clip_grad_scale<T>(g.data<T>(), g.numel(), scale);
    });
  for (const auto& [index, tensors] : grads.cuda)
    DANLU_CUDA_ONLY(kernels::cuda::clip_grad_scale(clip_table(index), tensors, scale,
                                                   compute_stream(Device::cuda(index))));
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  DANLU_CHECK(clip_value >= 0.0, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  const Grads grads = defined_grads(params, "clip_grad_value_");
  for (const Tensor& g : grads.cpu)
    ops_detail::dispatch_floating(g.dtype(), "clip_grad_value_", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::clip_grad_value<T>(g.data<T>(), g.numel(), clip_value);
    });
  for (const auto& [index, tensors] : grads.cuda)
    DANLU_CUDA_ONLY(kernels::cuda::clip_grad_value(clip_table(index), tensors, clip_value,
                                                   compute_stream(Device::cuda(index))));
}

}  // namespace danlu::optim
