// Dropout: the probability check and the call into ops::dropout.
#include "layers/dropout.h"

#include "engine/ops/dropout.h"
#include "layers/repr.h"

namespace danlu::nn {

Dropout::Dropout(const DropoutOptions& opts) : Module("Dropout"), options(opts) {
  DANLU_CHECK(options.p_ >= 0.0 && options.p_ <= 1.0,
              "Dropout: probability p must be in [0, 1], got ", options.p_);
}

Tensor Dropout::forward(const Tensor& x) {
  return dropout(x, options.p_, is_training(), options.generator_);
}

std::string Dropout::extra_repr() const {
  return "p=" + detail::py_float(options.p_) + ", inplace=False";
}

}  // namespace danlu::nn
