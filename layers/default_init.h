// The default initialisation PyTorch's Linear and ConvNd share
// (reset_parameters), used by both layers.
#pragma once

#include "engine/random.h"
#include "engine/tensor.h"

namespace danlu::nn::detail {

// weight ~ kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in));
// bias (when defined) ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void reset_affine_parameters(const Tensor& weight, const Tensor& bias, Generator* gen);

}  // namespace danlu::nn::detail
