// Flatten: checks the dims against the input, then reshapes (a view).
#include "layers/flatten.h"

#include "engine/ops/shape.h"

namespace danlu::nn {

Tensor Flatten::forward(const Tensor& x) {
  const int start = normalize_dim(options.start_dim_, x.dim(), "Flatten");
  const int end = normalize_dim(options.end_dim_, x.dim(), "Flatten");
  DANLU_CHECK(start <= end, "Flatten: start_dim ", options.start_dim_, " comes after end_dim ",
              options.end_dim_, " for input ", x.shape());
  return flatten(x, start, end);
}

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(options.start_dim_) +
         ", end_dim=" + std::to_string(options.end_dim_);
}

}  // namespace danlu::nn
