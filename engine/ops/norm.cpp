// Batch norm (alone or followed by ReLU) and layer norm. Each forward saves
// its per-channel / per-row mean and inverse standard deviation, so the
// backward is one kernel call that reads x, dy and those statistics.
#include "engine/ops/norm.h"

#include "engine/ops/dispatch.h"
#include "engine/profile.h"
#include "kernels/activation.h"
#include "kernels/batchnorm.h"
#include "kernels/layernorm.h"

namespace danlu {

using namespace ops_detail;

namespace {

// An optional (C)- or normalized_shape-sized parameter: undefined, or `shape`.
void check_param(const char* op, const Tensor& p, const char* what, const Shape& shape,
                 const Tensor& x) {
  if (!p.defined()) return;
  DANLU_CHECK(p.shape() == shape, op, ": ", what, " has shape ", p.shape(), ", expected ", shape,
              " for input ", x.shape());
  check_same_kind(op, {&x, &p});
}

// Channels view (N, C, S) of batch norm's input.
struct BatchNormDims {
  int64_t N, C, S;
};

BatchNormDims check_batch_norm(const char* name, const Tensor& x, const Tensor& running_mean,
                               const Tensor& running_var, const Tensor& weight,
                               const Tensor& bias, bool training, double eps) {
  check_defined(name, x, "input");
  DANLU_CHECK(x.dim() >= 2, name, ": expected input (N, C) or (N, C, ...), got shape ",
              x.shape());
  const int64_t N = x.shape()[0], C = x.shape()[1], S = x.shape().numel(2, x.dim());
  const Shape channels{C};
  check_param(name, weight, "weight", channels, x);
  check_param(name, bias, "bias", channels, x);
  check_param(name, running_mean, "running_mean", channels, x);
  check_param(name, running_var, "running_var", channels, x);
  DANLU_CHECK(running_mean.defined() == running_var.defined(), name,
              ": running_mean and running_var must both be given or both be omitted");
  DANLU_CHECK(training || running_mean.defined(), name,
              ": eval mode needs running_mean and running_var, input ", x.shape());
  DANLU_CHECK(!training || N * S > 1, name,
              ": expected more than 1 value per channel when training, got input ", x.shape());
  DANLU_CHECK(eps > 0.0, name, ": eps must be positive, got ", eps);
  if (x.device().is_cuda()) check_cuda_f32(name, x);
  return {N, C, S};
}

// y = batch_norm(x), then ReLU when `relu`, writing the saved statistics.
// The CPU path runs the two reference kernels one after the other; the GPU
// has a fused kernel.
void batch_norm_forward(bool relu, const Tensor& x, const Tensor& running_mean,
                        const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                        bool training, double momentum, double eps, const Tensor& y,
                        const Tensor& save_mean, const Tensor& save_invstd, BatchNormDims d) {
  if (x.device().is_cuda()) {
    DANLU_CUDA_ONLY(
        const auto forward_train = relu ? kernels::cuda::batchnorm_relu_forward_train
                                        : kernels::cuda::batchnorm_forward_train;
        const auto forward_eval = relu ? kernels::cuda::batchnorm_relu_forward_eval
                                       : kernels::cuda::batchnorm_forward_eval;
        if (training) {
          forward_train(x.data<float>(), data_or_null<float>(weight),
                        data_or_null<float>(bias), y.data<float>(), save_mean.data<float>(),
                        save_invstd.data<float>(), data_or_null<float>(running_mean),
                        data_or_null<float>(running_var), d.N, d.C, d.S, momentum, eps,
                        stream_of(x));
        } else {
          forward_eval(x.data<float>(), data_or_null<float>(weight), data_or_null<float>(bias),
                       running_mean.data<float>(), running_var.data<float>(), y.data<float>(),
                       save_mean.data<float>(), save_invstd.data<float>(), d.N, d.C, d.S, eps,
                       stream_of(x));
        });
    return;
  }
  dispatch_floating(x.dtype(), relu ? "batch_norm_relu" : "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    if (training) {
      kernels::cpu::batchnorm_forward_train<T>(
          x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), y.data<T>(),
          save_mean.data<T>(), save_invstd.data<T>(), data_or_null<T>(running_mean),
          data_or_null<T>(running_var), d.N, d.C, d.S, momentum, eps);
    } else {
      kernels::cpu::batchnorm_forward_eval<T>(
          x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), running_mean.data<T>(),
          running_var.data<T>(), y.data<T>(), save_mean.data<T>(), save_invstd.data<T>(), d.N,
          d.C, d.S, eps);
    }
    if (relu)
      kernels::cpu::activation_forward<T>(kernels::Activation::relu, y.data<T>(), y.data<T>(),
                                          y.numel(), T(0));
  });
}

// dx, dweight, dbias (each undefined when not needed) from g. relu_y is the
// fused forward's output, whose sign is ReLU's derivative; undefined without
// ReLU.
void batch_norm_backward(const Tensor& g, const Tensor& relu_y, const Tensor& x,
                         const Tensor& weight, const Tensor& save_mean,
                         const Tensor& save_invstd, const Tensor& dx, const Tensor& dw,
                         const Tensor& db, bool training, BatchNormDims d) {
  if (g.device().is_cuda()) {
    DANLU_CUDA_ONLY(if (relu_y.defined()) {
      kernels::cuda::batchnorm_relu_backward(
          relu_y.data<float>(), g.data<float>(), x.data<float>(), data_or_null<float>(weight),
          save_mean.data<float>(), save_invstd.data<float>(), data_or_null<float>(dx),
          data_or_null<float>(dw), data_or_null<float>(db), d.N, d.C, d.S, training,
          stream_of(g));
    } else {
      kernels::cuda::batchnorm_backward(
          g.data<float>(), x.data<float>(), data_or_null<float>(weight),
          save_mean.data<float>(), save_invstd.data<float>(), data_or_null<float>(dx),
          data_or_null<float>(dw), data_or_null<float>(db), d.N, d.C, d.S, training,
          stream_of(g));
    });
    return;
  }
  Tensor g_bn = g;  // the gradient reaching batch norm: through ReLU first when fused
  if (relu_y.defined()) g_bn = empty_like(g);
  dispatch_floating(g.dtype(), relu_y.defined() ? "batch_norm_relu" : "batch_norm",
                    [&](auto tag) {
                      using T = decltype(tag);
                      if (relu_y.defined())
                        kernels::cpu::activation_backward<T>(
                            kernels::Activation::relu, relu_y.data<T>(), g.data<T>(),
                            g_bn.data<T>(), g.numel(), T(0));
                      kernels::cpu::batchnorm_backward<T>(
                          g_bn.data<T>(), x.data<T>(), data_or_null<T>(weight),
                          save_mean.data<T>(), save_invstd.data<T>(), data_or_null<T>(dx),
                          data_or_null<T>(dw), data_or_null<T>(db), d.N, d.C, d.S, training);
                    });
}

Tensor batch_norm_impl(const char* name, bool relu, const Tensor& x, const Tensor& running_mean,
                       const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                       bool training, double momentum, double eps) {
  DANLU_OP_RANGE(name);
  const BatchNormDims d =
      check_batch_norm(name, x, running_mean, running_var, weight, bias, training, eps);
  const Shape channels{d.C};
  Tensor y = empty_like(x), save_mean = empty_with(channels, x),
         save_invstd = empty_with(channels, x);
  batch_norm_forward(relu, x, running_mean, running_var, weight, bias, training, momentum, eps,
                     y, save_mean, save_invstd, d);

  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad();
  const bool need_db = bias.requires_grad();  // false for an undefined tensor
  Tensor saved_x = x.detach(), saved_w = weight.defined() ? weight.detach() : Tensor();
  Tensor saved_y = relu ? y.detach() : Tensor();
  return record(y, name, {x, weight, bias}, [=](const Tensor& g) {
    Tensor dx = need_dx ? empty_like(g) : Tensor();
    Tensor dw = need_dw ? empty_with(channels, g) : Tensor();
    Tensor db = need_db ? empty_with(channels, g) : Tensor();
    batch_norm_backward(g, saved_y, saved_x, saved_w, save_mean, save_invstd, dx, dw, db,
                        training, d);
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  return batch_norm_impl("batch_norm", false, x, running_mean, running_var, weight, bias,
                         training, momentum, eps);
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, bool training, double momentum,
                       double eps) {
  return batch_norm_impl("batch_norm_relu", true, x, running_mean, running_var, weight, bias,
                         training, momentum, eps);
}

Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape,
                  const Tensor& weight, const Tensor& bias, double eps) {
  DANLU_OP_RANGE("layer_norm");
  const char* name = "layer_norm";
  check_defined(name, x, "input");
  const Shape norm_shape(normalized_shape);
  const int k = norm_shape.size(), lead = x.dim() - k;
  bool matches = k > 0 && lead >= 0;
  for (int d = 0; matches && d < k; ++d) matches = x.shape()[lead + d] == norm_shape[d];
  DANLU_CHECK(matches, name, ": normalized_shape ", norm_shape,
              " must be non-empty and equal the trailing dims of input ", x.shape());
  check_param(name, weight, "weight", norm_shape, x);
  check_param(name, bias, "bias", norm_shape, x);
  DANLU_CHECK(eps > 0.0, name, ": eps must be positive, got ", eps);

  const int64_t M = x.shape().numel(0, lead), D = norm_shape.numel();
  Tensor y = empty_like(x), mean = empty_with(Shape{M}, x), rstd = empty_with(Shape{M}, x);
  if (x.device().is_cuda()) {
    check_cuda_f32(name, x);
    DANLU_CUDA_ONLY(kernels::cuda::layernorm_forward(
        x.data<float>(), data_or_null<float>(weight), data_or_null<float>(bias),
        y.data<float>(), mean.data<float>(), rstd.data<float>(), M, D, eps, stream_of(x)));
  } else {
    dispatch_floating(x.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::layernorm_forward<T>(x.data<T>(), data_or_null<T>(weight),
                                         data_or_null<T>(bias), y.data<T>(), mean.data<T>(),
                                         rstd.data<T>(), M, D, eps);
    });
  }

  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad();
  const bool need_db = bias.requires_grad();  // false for an undefined tensor
  Tensor saved_x = x.detach(), saved_w = weight.defined() ? weight.detach() : Tensor();
  return record(y, name, {x, weight, bias}, [=](const Tensor& g) {
    Tensor dx = need_dx ? empty_like(g) : Tensor();
    Tensor dw = need_dw ? empty_with(norm_shape, g) : Tensor();
    Tensor db = need_db ? empty_with(norm_shape, g) : Tensor();
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(kernels::cuda::layernorm_backward(
          g.data<float>(), saved_x.data<float>(), data_or_null<float>(saved_w),
          mean.data<float>(), rstd.data<float>(), data_or_null<float>(dx),
          data_or_null<float>(dw), data_or_null<float>(db), M, D, stream_of(g)));
    } else {
      dispatch_floating(g.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        kernels::cpu::layernorm_backward<T>(g.data<T>(), saved_x.data<T>(),
                                            data_or_null<T>(saved_w), mean.data<T>(),
                                            rstd.data<T>(), data_or_null<T>(dx),
                                            data_or_null<T>(dw), data_or_null<T>(db), M, D);
      });
    }
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace danlu
