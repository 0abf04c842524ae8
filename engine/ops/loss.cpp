// Losses. cross_entropy is one fused kernel each way (log-softmax + NLL with
// label smoothing); mse_loss is composed from elementwise ops and reductions,
// which run on either device.
#include "engine/ops/loss.h"

#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/profile.h"
#include "kernels/softmax_xent.h"

namespace danlu {

using namespace ops_detail;

namespace {

Tensor reduce_losses(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return losses;
    case Reduction::mean: return mean(losses);
    case Reduction::sum: return sum(losses);
  }
  DANLU_FAIL("unknown Reduction");
}

// The mean or sum of per-row losses on a GPU: the loss kernels' own
// fixed-order reduction, so the loss repeats bit for bit.
Tensor reduce_losses_cuda(const Tensor& losses, Reduction reduction) {
  if (reduction == Reduction::none) return losses;
  const int64_t N = losses.numel();
  [[maybe_unused]] const double scale =  // read by the CUDA branch only
      reduction == Reduction::mean ? 1.0 / static_cast<double>(N) : 1.0;
  Tensor out = empty_with(Shape{}, losses);
  DANLU_CUDA_ONLY(kernels::cuda::softmax_xent_reduce(losses.data<float>(), N, scale,
                                                     out.data<float>(), stream_of(losses)));
  return out;
}

// Reads the targets on the host: the kernels index logits with them, so an
// out-of-range class must stop here with a message rather than read wild
// memory. Targets on a GPU are not read back (that would wait for the
// device every step); the CUDA kernel gives their rows a NaN loss instead.
void check_targets(const Tensor& logits, const Tensor& target) {
  const int64_t C = logits.shape()[1];
  const int64_t* t = target.data<int64_t>();
  for (int64_t n = 0; n < target.numel(); ++n)
    DANLU_CHECK(t[n] >= 0 && t[n] < C, "cross_entropy: target[", n, "] = ", t[n],
                " is out of range for ", C, " classes (logits ", logits.shape(), ")");
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options) {
  DANLU_OP_RANGE("cross_entropy");
  const char* name = "cross_entropy";
  check_defined(name, logits, "logits");
  check_defined(name, target, "target");
  DANLU_CHECK(logits.dim() == 2 && logits.shape()[1] > 0, name,
              ": expected logits (N, C) with C >= 1, got shape ", logits.shape());
  DANLU_CHECK(target.dtype() == DType::i64, name, ": expected an i64 target of class indices, got ",
              dtype_name(target.dtype()), " ", target.shape());
  DANLU_CHECK(target.dim() == 1 && target.shape()[0] == logits.shape()[0], name,
              ": target ", target.shape(), " does not match logits ", logits.shape(),
              " (expected (N) for logits (N, C))");
  DANLU_CHECK(target.device() == logits.device(), name, ": device mismatch, logits on ",
              logits.device().str(), ", target on ", target.device().str());
  const double smoothing = options.label_smoothing;
  DANLU_CHECK(smoothing >= 0.0 && smoothing <= 1.0, name, ": label_smoothing must be in [0, 1], got ",
              smoothing);
  const bool cuda = logits.device().is_cuda();
  if (cuda)
    check_cuda_f32(name, logits);
  else
    check_targets(logits, target);

  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  Tensor losses = empty_with(Shape{N}, logits), lse = empty_with(Shape{N}, logits);
  Tensor out;
  if (cuda) {
    DANLU_CUDA_ONLY(kernels::cuda::softmax_xent_forward(
        logits.data<float>(), target.data<int64_t>(), losses.data<float>(), lse.data<float>(), N,
        C, smoothing, stream_of(logits)));
    out = reduce_losses_cuda(losses, options.reduction);
  } else {
    dispatch_floating(logits.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::softmax_xent_forward<T>(logits.data<T>(), target.data<int64_t>(),
                                            losses.data<T>(), lse.data<T>(), N, C, smoothing);
    });
    NoGradGuard no_grad;  // the node below covers the reduction too
    out = reduce_losses(losses, options.reduction);
  }

  const Reduction reduction = options.reduction;
  Tensor saved_logits = logits.detach(), saved_target = target.detach();
  return record(out, name, {logits}, [=](const Tensor& g) {
    const int64_t stride = reduction == Reduction::none ? 1 : 0;
    const double scale = reduction == Reduction::mean ? 1.0 / static_cast<double>(N) : 1.0;
    Tensor dlogits = empty_like(saved_logits);
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(kernels::cuda::softmax_xent_backward(
          saved_logits.data<float>(), saved_target.data<int64_t>(), lse.data<float>(),
          g.data<float>(), stride, scale, dlogits.data<float>(), N, C, smoothing,
          stream_of(g)));
    } else {
      dispatch_floating(g.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        kernels::cpu::softmax_xent_backward<T>(saved_logits.data<T>(),
                                               saved_target.data<int64_t>(), lse.data<T>(),
                                               g.data<T>(), stride, scale, dlogits.data<T>(), N,
                                               C, smoothing);
      });
    }
    return std::vector<Tensor>{dlogits};
  });
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  DANLU_OP_RANGE("mse_loss");
  check_defined("mse_loss", input, "input");
  check_defined("mse_loss", target, "target");
  check_same_kind("mse_loss", {&input, &target});
  DANLU_CHECK(input.shape() == target.shape(), "mse_loss: input ", input.shape(), " and target ",
              target.shape(), " must have the same shape");
  const Tensor diff = input - target;
  return reduce_losses(diff * diff, reduction);
}

}  // namespace danlu
