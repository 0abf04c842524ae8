// Gradient checking in the style of PyTorch's gradcheck and Caffe's
// GradientChecker: the analytic gradient of a random projection of f's output
// is compared with central finite differences, in f64.
#pragma once

#include <functional>
#include <vector>

#include "danlu.h"

namespace danlu::testing {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  // Central differences in f64 have error ~eps^2 * f''' + rounding ~1e-16/eps,
  // i.e. ~1e-10 here; the bounds leave room for ops with large curvature.
  double atol = 1e-6;
  double rtol = 1e-5;
  uint64_t seed = 1234;
};

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

// For every input with requires_grad, checks d(sum(f(inputs) * R))/d(input)
// from backward() against central differences; R is a fixed random tensor.
// Inputs must be f64. Records a GoogleTest failure naming the input, the
// element and both values. Returns true when everything matched.
bool gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
               const GradcheckOptions& options = {});

// A random f64 tensor with values in [lo, hi) that requires grad.
Tensor random_input(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0,
                    bool requires_grad = true);

}  // namespace danlu::testing
