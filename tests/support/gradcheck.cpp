// Central-difference gradient checker.
#include "tests/support/gradcheck.h"

#include <gtest/gtest.h>

#include <cmath>

namespace danlu::testing {

namespace {
double projected(const TensorFn& f, const std::vector<Tensor>& inputs, const Tensor& r) {
  Tensor y = f(inputs);
  const double* py = y.data<double>();
  const double* pr = r.data<double>();
  double s = 0.0;
  for (int64_t i = 0; i < y.numel(); ++i) s += py[i] * pr[i];
  return s;
}
}  // namespace

Tensor random_input(const Shape& shape, uint64_t seed, double lo, double hi,
                    bool requires_grad) {
  Generator gen(seed);
  std::vector<double> v = gen.uniform(shape.numel());
  for (double& x : v) x = lo + (hi - lo) * x;
  Tensor t = Tensor::from_vector(v, shape, DType::f64);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

bool gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
               const GradcheckOptions& options) {
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) {
      EXPECT_EQ(t.dtype(), DType::f64) << "gradcheck needs f64 inputs";
    }
  }
  for (const Tensor& t : inputs) {
    if (t.defined()) t.zero_grad();
  }

  Tensor y = f(inputs);
  Tensor r = random_input(y.shape(), options.seed, -1.0, 1.0, false);
  y.backward(r);

  NoGradGuard no_grad;
  bool ok = true;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor analytic = x.grad();
    if (!analytic.defined()) {
      ADD_FAILURE() << "input " << k << " " << x.shape() << " received no gradient";
      ok = false;
      continue;
    }
    double* px = x.data<double>();
    const double* pa = analytic.data<double>();
    int reported = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double saved = px[i];
      px[i] = saved + options.eps;
      const double plus = projected(f, inputs, r);
      px[i] = saved - options.eps;
      const double minus = projected(f, inputs, r);
      px[i] = saved;
      const double numeric = (plus - minus) / (2 * options.eps);
      if (std::abs(numeric - pa[i]) > options.atol + options.rtol * std::abs(numeric)) {
        ok = false;
        if (reported++ < 5)
          ADD_FAILURE() << "input " << k << " " << x.shape() << " element " << i
                        << ": analytic " << pa[i] << " vs numeric " << numeric;
      }
    }
  }
  return ok;
}

}  // namespace danlu::testing
