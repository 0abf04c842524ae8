// Batch norm and layer norm. Each forward saves its per-channel / per-row
// mean and inverse standard deviation, so the backward is one kernel call
// that reads x, dy and those statistics.
#include "engine/ops/norm.h"

#include "engine/ops/dispatch.h"
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

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  const char* name = "batch_norm";
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

  Tensor y = empty_like(x), save_mean = empty_with(channels, x),
         save_invstd = empty_with(channels, x);
  dispatch_floating(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    if (training) {
      kernels::cpu::batchnorm_forward_train<T>(
          x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), y.data<T>(),
          save_mean.data<T>(), save_invstd.data<T>(), data_or_null<T>(running_mean),
          data_or_null<T>(running_var), N, C, S, momentum, eps);
    } else {
      kernels::cpu::batchnorm_forward_eval<T>(
          x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), running_mean.data<T>(),
          running_var.data<T>(), y.data<T>(), save_mean.data<T>(), save_invstd.data<T>(), N, C,
          S, eps);
    }
  });

  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad();
  const bool need_db = bias.requires_grad();  // false for an undefined tensor
  Tensor saved_x = x.detach(), saved_w = weight.defined() ? weight.detach() : Tensor();
  return record(y, name, {x, weight, bias}, [=](const Tensor& g) {
    Tensor dx = need_dx ? empty_like(g) : Tensor();
    Tensor dw = need_dw ? empty_with(channels, g) : Tensor();
    Tensor db = need_db ? empty_with(channels, g) : Tensor();
    dispatch_floating(g.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::batchnorm_backward<T>(g.data<T>(), saved_x.data<T>(),
                                          data_or_null<T>(saved_w), save_mean.data<T>(),
                                          save_invstd.data<T>(), data_or_null<T>(dx),
                                          data_or_null<T>(dw), data_or_null<T>(db), N, C, S,
                                          training);
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape,
                  const Tensor& weight, const Tensor& bias, double eps) {
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
  dispatch_floating(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::layernorm_forward<T>(x.data<T>(), data_or_null<T>(weight),
                                       data_or_null<T>(bias), y.data<T>(), mean.data<T>(),
                                       rstd.data<T>(), M, D, eps);
  });

  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad();
  const bool need_db = bias.requires_grad();  // false for an undefined tensor
  Tensor saved_x = x.detach(), saved_w = weight.defined() ? weight.detach() : Tensor();
  return record(y, name, {x, weight, bias}, [=](const Tensor& g) {
    Tensor dx = need_dx ? empty_like(g) : Tensor();
    Tensor dw = need_dw ? empty_with(norm_shape, g) : Tensor();
    Tensor db = need_db ? empty_with(norm_shape, g) : Tensor();
    dispatch_floating(g.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::layernorm_backward<T>(g.data<T>(), saved_x.data<T>(),
                                          data_or_null<T>(saved_w), mean.data<T>(),
                                          rstd.data<T>(), data_or_null<T>(dx),
                                          data_or_null<T>(dw), data_or_null<T>(db), M, D);
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace danlu
