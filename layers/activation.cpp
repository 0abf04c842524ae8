// Activation modules: each forwards to its functional op.
#include "layers/activation.h"

#include "layers/repr.h"

namespace danlu::nn {

Tensor ReLU::forward(const Tensor& x) { return danlu::relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return danlu::leaky_relu(x, options.negative_slope_); }
std::string LeakyReLU::extra_repr() const {
  return "negative_slope=" + detail::py_float(options.negative_slope_);
}

Tensor ELU::forward(const Tensor& x) { return danlu::elu(x, options.alpha_); }
std::string ELU::extra_repr() const { return "alpha=" + detail::py_float(options.alpha_); }

GELU::GELU(const GELUOptions& opts) : Module("GELU"), options(opts) {
  DANLU_CHECK(options.approximate_ == "none" || options.approximate_ == "tanh",
              "GELU: approximate must be 'none' or 'tanh', got '", options.approximate_, "'");
  approximate_ = options.approximate_ == "tanh" ? GeluApproximate::tanh : GeluApproximate::none;
}
Tensor GELU::forward(const Tensor& x) { return danlu::gelu(x, approximate_); }
std::string GELU::extra_repr() const { return "approximate='" + options.approximate_ + "'"; }

Tensor SiLU::forward(const Tensor& x) { return danlu::silu(x); }
Tensor Sigmoid::forward(const Tensor& x) { return danlu::sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return danlu::tanh(x); }

}  // namespace danlu::nn
