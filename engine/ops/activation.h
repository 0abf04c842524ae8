// Pointwise activations, differentiable.
#pragma once

#include "engine/tensor.h"

namespace danlu {

enum class GeluApproximate { none, tanh };

Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor gelu(const Tensor& x, GeluApproximate approximate = GeluApproximate::none);
Tensor silu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);

}  // namespace danlu
