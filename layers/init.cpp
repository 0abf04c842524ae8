// torch.nn.init on danlu tensors: values are drawn on the host from the
// Philox generator and copied into the tensor, wherever it lives.
#include "layers/init.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "engine/autograd.h"

namespace danlu::nn::init {

namespace {

Generator& pick(Generator* gen) { return gen ? *gen : default_generator(); }

void check_floating(const Tensor& t, const char* op) {
  DANLU_CHECK(t.defined(), "init.", op, ": the tensor is undefined");
  DANLU_CHECK(is_floating(t.dtype()), "init.", op, ": expected an f32/f64 tensor, got ",
              dtype_name(t.dtype()), " ", t.shape());
}

// Copies host values into `t` in place, outside autograd.
Tensor write(Tensor t, const std::vector<double>& values) {
  NoGradGuard no_grad;
  t.copy_(Tensor::from_vector(values, t.shape(), TensorOptions(t.dtype()).device(t.device())));
  return t;
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

// The standard normal quantile: Acklam's rational approximation (relative
// error 1e-9) polished by one Halley step on erfc to double precision.
double normal_quantile(double p) {
  if (p <= 0.0) return -INFINITY;
  if (p >= 1.0) return INFINITY;
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                             2.445134137142996e+00, 3.754408661907416e+00};
  const double p_low = 0.02425;
  double x;
  if (p < p_low || p > 1.0 - p_low) {  // tails
    const double q = std::sqrt(-2.0 * std::log(p < p_low ? p : 1.0 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    if (p > 1.0 - p_low) x = -x;
  } else {  // central region
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  const double e = normal_cdf(x) - p;
  const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

double kaiming_std(const Tensor& t, double a, Mode mode, Nonlinearity nonlinearity) {
  const Fans fans = calculate_fan_in_and_fan_out(t);
  const int64_t fan = mode == Mode::fan_in ? fans.fan_in : fans.fan_out;
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

double xavier_std(const Tensor& t, double gain) {
  const Fans fans = calculate_fan_in_and_fan_out(t);
  return gain * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out));
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::conv1d:
    case Nonlinearity::conv2d:
    case Nonlinearity::conv3d:
    case Nonlinearity::conv_transpose1d:
    case Nonlinearity::conv_transpose2d:
    case Nonlinearity::conv_transpose3d:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::numbers::sqrt2;
    case Nonlinearity::leaky_relu: {
      const double slope = param.value_or(0.01);
      return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    case Nonlinearity::selu: return 3.0 / 4.0;  // PyTorch's choice for self-normalising nets
  }
  DANLU_FAIL("calculate_gain: unknown nonlinearity");
}

Fans calculate_fan_in_and_fan_out(const Tensor& tensor) {
  DANLU_CHECK(tensor.defined() && tensor.dim() >= 2,
              "calculate_fan_in_and_fan_out: fan in and fan out need a tensor of at least 2 ",
              "dims, got ", tensor.defined() ? tensor.shape().str() : "an undefined tensor");
  const int64_t receptive_field = tensor.shape().numel(2, tensor.dim());
  return {tensor.size(1) * receptive_field, tensor.size(0) * receptive_field};
}

Tensor uniform_(Tensor tensor, double low, double high, Generator* gen) {
  check_floating(tensor, "uniform_");
  DANLU_CHECK(low <= high, "init.uniform_: low (", low, ") must not exceed high (", high, ")");
  std::vector<double> values = pick(gen).uniform(tensor.numel());
  for (double& v : values) v = low + (high - low) * v;
  return write(tensor, values);
}

Tensor normal_(Tensor tensor, double mean, double std, Generator* gen) {
  check_floating(tensor, "normal_");
  DANLU_CHECK(std >= 0.0, "init.normal_: std must be >= 0, got ", std);
  std::vector<double> values = pick(gen).normal(tensor.numel());
  for (double& v : values) v = mean + std * v;
  return write(tensor, values);
}

Tensor trunc_normal_(Tensor tensor, double mean, double std, double a, double b, Generator* gen) {
  check_floating(tensor, "trunc_normal_");
  DANLU_CHECK(std > 0.0 && a < b, "init.trunc_normal_: needs std > 0 and a < b, got std ", std,
              ", [a, b] = [", a, ", ", b, "]");
  const double lo = normal_cdf((a - mean) / std), hi = normal_cdf((b - mean) / std);
  std::vector<double> values = pick(gen).uniform(tensor.numel());
  for (double& v : values)
    v = std::clamp(mean + std * normal_quantile(lo + (hi - lo) * v), a, b);
  return write(tensor, values);
}

Tensor constant_(Tensor tensor, double value) {
  DANLU_CHECK(tensor.defined(), "init.constant_: the tensor is undefined");
  NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}

Tensor zeros_(Tensor tensor) { return constant_(std::move(tensor), 0.0); }
Tensor ones_(Tensor tensor) { return constant_(std::move(tensor), 1.0); }

Tensor xavier_uniform_(Tensor tensor, double gain, Generator* gen) {
  check_floating(tensor, "xavier_uniform_");
  const double bound = std::sqrt(3.0) * xavier_std(tensor, gain);
  return uniform_(std::move(tensor), -bound, bound, gen);
}

Tensor xavier_normal_(Tensor tensor, double gain, Generator* gen) {
  check_floating(tensor, "xavier_normal_");
  return normal_(tensor, 0.0, xavier_std(tensor, gain), gen);
}

Tensor kaiming_uniform_(Tensor tensor, double a, Mode mode, Nonlinearity nonlinearity,
                        Generator* gen) {
  check_floating(tensor, "kaiming_uniform_");
  if (tensor.numel() == 0) return tensor;  // PyTorch: a no-op on zero-element tensors
  const double bound = std::sqrt(3.0) * kaiming_std(tensor, a, mode, nonlinearity);
  return uniform_(std::move(tensor), -bound, bound, gen);
}

Tensor kaiming_normal_(Tensor tensor, double a, Mode mode, Nonlinearity nonlinearity,
                       Generator* gen) {
  check_floating(tensor, "kaiming_normal_");
  if (tensor.numel() == 0) return tensor;
  return normal_(tensor, 0.0, kaiming_std(tensor, a, mode, nonlinearity), gen);
}

}  // namespace danlu::nn::init
