// LayerNorm: parameters, the trailing-shape check and ops::layer_norm.
#include "layers/layernorm.h"

#include <algorithm>

#include "engine/ops/norm.h"
#include "layers/init.h"
#include "layers/repr.h"

namespace danlu::nn {

LayerNorm::LayerNorm(const LayerNormOptions& opts) : Module("LayerNorm"), options(opts) {
  const std::vector<int64_t>& shape = options.normalized_shape_;
  const bool positive = std::all_of(shape.begin(), shape.end(), [](int64_t s) { return s > 0; });
  DANLU_CHECK(!shape.empty() && positive,
              "LayerNorm: normalized_shape must be non-empty with positive sizes, got ",
              detail::py_tuple(shape));
  DANLU_CHECK(options.eps_ > 0, "LayerNorm: eps must be positive, got ", options.eps_);
  if (options.elementwise_affine_) {
    weight = register_parameter("weight", Tensor::empty(Shape(shape)));
    if (options.bias_) bias = register_parameter("bias", Tensor::empty(Shape(shape)));
  }
  reset_parameters();
}

void LayerNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& x) {
  const std::vector<int64_t>& shape = options.normalized_shape_;
  const int n = static_cast<int>(shape.size());
  const std::vector<int64_t> sizes = x.shape().vec();
  DANLU_CHECK(x.dim() >= n && std::equal(shape.begin(), shape.end(), sizes.end() - n),
              "LayerNorm: expected an input ending in ", detail::py_tuple(shape), ", got ",
              x.shape());
  return layer_norm(x, shape, weight, bias, options.eps_);
}

std::string LayerNorm::extra_repr() const {
  return detail::py_tuple(options.normalized_shape_) + ", eps=" + detail::py_float(options.eps_) +
         ", elementwise_affine=" + detail::py_bool(options.elementwise_affine_);
}

}  // namespace danlu::nn
