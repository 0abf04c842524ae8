// LayerNorm: normalisation over the trailing dims of each sample, as
// torch.nn.LayerNorm.
#pragma once

#include <cstdint>
#include <vector>

#include "layers/module.h"

namespace danlu::nn {

struct LayerNormOptions {
  std::vector<int64_t> normalized_shape_;
  double eps_ = 1e-5;
  bool elementwise_affine_ = true;  // learnable weight and bias
  bool bias_ = true;                // the bias, when elementwise_affine

  LayerNormOptions(std::vector<int64_t> normalized_shape)  // NOLINT: LayerNorm({64})
      : normalized_shape_(std::move(normalized_shape)) {}
  LayerNormOptions& eps(double e) { eps_ = e; return *this; }
  LayerNormOptions& elementwise_affine(bool a) { elementwise_affine_ = a; return *this; }
  LayerNormOptions& bias(bool b) { bias_ = b; return *this; }
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(const LayerNormOptions& options);

  // x (..., *normalized_shape) -> the same shape.
  Tensor forward(const Tensor& x) override;
  void reset_parameters();  // weight 1, bias 0

  LayerNormOptions options;
  Tensor weight, bias;  // normalized_shape; undefined unless elementwise_affine (and bias)

 protected:
  std::string extra_repr() const override;
};

}  // namespace danlu::nn
