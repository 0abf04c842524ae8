// Linear: parameters, PyTorch's default init, and the forward checks.
#include "layers/linear.h"

#include "engine/ops/linear.h"
#include "layers/default_init.h"
#include "layers/repr.h"

namespace danlu::nn {

Linear::Linear(const LinearOptions& opts) : Module("Linear"), options(opts) {
  DANLU_CHECK(options.in_features_ > 0 && options.out_features_ > 0,
              "Linear: in_features and out_features must be positive, got ",
              options.in_features_, " and ", options.out_features_);
  weight = register_parameter("weight",
                              Tensor::empty({options.out_features_, options.in_features_}));
  if (options.bias_) bias = register_parameter("bias", Tensor::empty({options.out_features_}));
  reset_parameters();
}

void Linear::reset_parameters(Generator* gen) {
  detail::reset_affine_parameters(weight, bias, gen);
}

Tensor Linear::forward(const Tensor& x) {
  DANLU_CHECK(x.dim() >= 1 && x.size(-1) == options.in_features_, "Linear: expected input (..., ",
              options.in_features_, "), got ", x.shape());
  return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(options.in_features_) +
         ", out_features=" + std::to_string(options.out_features_) +
         ", bias=" + detail::py_bool(options.bias_);
}

}  // namespace danlu::nn
