// PyTorch's reset_parameters for Linear and ConvNd.
#include "layers/default_init.h"

#include <cmath>

#include "layers/init.h"

namespace danlu::nn::detail {

void reset_affine_parameters(const Tensor& weight, const Tensor& bias, Generator* gen) {
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::Mode::fan_in,
                         init::Nonlinearity::leaky_relu, gen);
  if (!bias.defined()) return;
  const int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).fan_in;
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  init::uniform_(bias, -bound, bound, gen);
}

}  // namespace danlu::nn::detail
