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
  TensorOptions first;                              // the first gradient's dtype and device

  bool none() const { return cpu.empty() && cuda.empty(); }
  bool on_one_gpu() const { return cpu.empty() && cuda.size() == 1; }
};

Grads defined_grads(const std::vector<Tensor>& params, const char* op) {
  Grads grads;
  for (const Tensor& p : params) {
    Tensor g = p.defined() ? p.grad() : Tensor();
    if (!g.defined()) continue;
    if (grads.none()) grads.first = TensorOptions(g.dtype()).device(g.device());
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

// Calls f(table, tensors, stream) for each GPU's gradients, with the launch
// table clipping keeps for that GPU (one per thread and device). `f` is a
// generic lambda, so a CPU-only build never instantiates its CUDA calls.
template <class F>
void for_each_gpu(const Grads& grads, F&& f) {
#ifdef DANLU_WITH_CUDA
  thread_local std::map<int, std::unique_ptr<kernels::cuda::FusedTable>> tables;
  for (const auto& [index, tensors] : grads.cuda) {
    std::unique_ptr<kernels::cuda::FusedTable>& table = tables[index];
    if (!table) table = std::make_unique<kernels::cuda::FusedTable>();
    f(*table, tensors, compute_stream(Device::cuda(index)));
  }
#else
  DANLU_CHECK(grads.cuda.empty(), "this build of danlu has no CUDA backend");
  (void)f;
#endif
}

}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  DANLU_CHECK(norm_type > 0.0, "clip_grad_norm_: norm_type must be > 0 or inf, got ", norm_type);
  DANLU_CHECK(max_norm >= 0.0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  const Grads grads = defined_grads(params, "clip_grad_norm_");
  if (grads.none()) return Tensor::scalar(0.0, TensorOptions(DType::f64));
  if (grads.on_one_gpu() && !error_if_nonfinite) {
    Tensor norm = Tensor::empty(Shape{}, grads.first);
    for_each_gpu(grads, [&](auto& table, const auto& tensors, kernels::Stream stream) {
      kernels::cuda::clip_grad_norm_on_device(table, tensors, norm_type, max_norm,
                                              norm.data<float>(), stream);
    });
    return norm;
  }
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
  for_each_gpu(grads, [&](auto& table, const auto& tensors, kernels::Stream stream) {
    add_part(kernels::cuda::clip_grad_norm_part(table, tensors, norm_type, stream));
  });
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
  for_each_gpu(grads, [&](auto& table, const auto& tensors, kernels::Stream stream) {
    kernels::cuda::clip_grad_scale(table, tensors, scale, stream);
  });
  return Tensor::scalar(total, TensorOptions(grads.first.dtype_)).to(grads.first.device_);
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  DANLU_CHECK(clip_value >= 0.0, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  const Grads grads = defined_grads(params, "clip_grad_value_");
  for (const Tensor& g : grads.cpu)
    ops_detail::dispatch_floating(g.dtype(), "clip_grad_value_", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::clip_grad_value<T>(g.data<T>(), g.numel(), clip_value);
    });
  for_each_gpu(grads, [&](auto& table, const auto& tensors, kernels::Stream stream) {
    kernels::cuda::clip_grad_value(table, tensors, clip_value, stream);
  });
}

}  // namespace danlu::optim
