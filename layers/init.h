// Weight initialisation as torch.nn.init: gains, fans, xavier/kaiming and the
// plain distributions. Every function fills its tensor in place outside
// autograd, draws from `gen` (the default generator when null) and returns
// the tensor, so `init::kaiming_normal_(conv->weight, 0, Mode::fan_out,
// Nonlinearity::relu)` reads as in PyTorch.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/random.h"
#include "engine/tensor.h"

namespace danlu::nn::init {

enum class Nonlinearity {
  linear, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
  sigmoid, tanh, relu, leaky_relu, selu
};
enum class Mode { fan_in, fan_out };

// The recommended std scale for a nonlinearity: 1 for linear, conv and
// sigmoid; 5/3 for tanh; sqrt(2) for relu; sqrt(2 / (1 + slope^2)) for
// leaky_relu (slope = param, 0.01 when absent); 3/4 for selu.
double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param = std::nullopt);

// For a weight of at least 2 dims: fan_in = size(1) * receptive field,
// fan_out = size(0) * receptive field, the receptive field being the product
// of the sizes after dim 1. A conv weight (O, C/groups, KH, KW) thus has
// fan_in = C/groups * KH * KW, as in PyTorch.
struct Fans {
  int64_t fan_in;
  int64_t fan_out;
};
Fans calculate_fan_in_and_fan_out(const Tensor& tensor);

Tensor uniform_(Tensor tensor, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
Tensor normal_(Tensor tensor, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
// N(mean, std) restricted to [a, b], by inverting the normal CDF on a
// uniform draw over [cdf(a), cdf(b)] (PyTorch's method).
Tensor trunc_normal_(Tensor tensor, double mean = 0.0, double std = 1.0, double a = -2.0,
                     double b = 2.0, Generator* gen = nullptr);
Tensor constant_(Tensor tensor, double value);
Tensor zeros_(Tensor tensor);
Tensor ones_(Tensor tensor);

// U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(Tensor tensor, double gain = 1.0, Generator* gen = nullptr);
// N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor tensor, double gain = 1.0, Generator* gen = nullptr);
// std = gain(nonlinearity, a) / sqrt(fan); U(-sqrt(3) std, sqrt(3) std) or N(0, std^2).
// `a` is the negative slope of a following leaky_relu (ignored for relu).
Tensor kaiming_uniform_(Tensor tensor, double a = 0.0, Mode mode = Mode::fan_in,
                        Nonlinearity nonlinearity = Nonlinearity::leaky_relu,
                        Generator* gen = nullptr);
Tensor kaiming_normal_(Tensor tensor, double a = 0.0, Mode mode = Mode::fan_in,
                       Nonlinearity nonlinearity = Nonlinearity::leaky_relu,
                       Generator* gen = nullptr);

}  // namespace danlu::nn::init
