// Activation forward values at hand-checkable points (computed with Python's
// math module from PyTorch's formulas) and the conventions at the kinks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "danlu.h"
#include "tests/support/expect_close.h"

namespace danlu {
namespace {

using testing::expect_close;

const std::vector<double> kPoints{-2.0, -0.5, 0.0, 0.5, 1.0, 3.0};

Tensor points(DType dtype) { return Tensor::from_vector(kPoints, {6}, dtype); }

// f64 results are the same formulas as the reference up to rounding (1e-15
// relative); f32 results carry f32 rounding of exp/erf/tanh (~1e-7 relative).
void check_both_dtypes(Tensor (*op)(const Tensor&), const std::vector<double>& expected,
                       const char* what) {
  expect_close(op(points(DType::f64)).to_vector(), expected, 1e-15, 1e-14, what);
  expect_close(op(points(DType::f32)).to_vector(), expected, 1e-7, 1e-6, what);
}

TEST(Activation, ForwardValues) {
  check_both_dtypes(relu, {0, 0, 0, 0.5, 1, 3}, "relu");
  check_both_dtypes([](const Tensor& x) { return leaky_relu(x); },
                    {-0.02, -0.005, 0, 0.5, 1, 3}, "leaky_relu");
  check_both_dtypes([](const Tensor& x) { return elu(x); },
                    {-0.8646647167633873, -0.3934693402873666, 0, 0.5, 1, 3}, "elu");
  check_both_dtypes([](const Tensor& x) { return gelu(x); },
                    {-0.04550026389635842, -0.15426876936299344, 0, 0.34573123063700656,
                     0.8413447460685429, 2.99595030590511},
                    "gelu");
  check_both_dtypes([](const Tensor& x) { return gelu(x, GeluApproximate::tanh); },
                    {-0.04540230591222494, -0.15428599017485606, 0, 0.34571400982514394,
                     0.8411919906082768, 2.996362607918227},
                    "gelu tanh");
  check_both_dtypes(silu,
                    {-0.2384058440442351, -0.1887703343990727, 0, 0.3112296656009273,
                     0.7310585786300049, 2.8577223804672998},
                    "silu");
  check_both_dtypes(sigmoid,
                    {0.11920292202211755, 0.3775406687981454, 0.5, 0.6224593312018546,
                     0.7310585786300049, 0.9525741268224334},
                    "sigmoid");
  check_both_dtypes(tanh,
                    {-0.9640275800758169, -0.46211715726000974, 0, 0.46211715726000974,
                     0.7615941559557649, 0.9950547536867305},
                    "tanh");
}

TEST(Activation, GradientConventionsAtZero) {
  // PyTorch: relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha.
  auto grad_at_zero = [](Tensor (*op)(const Tensor&)) {
    Tensor x = Tensor::zeros({1}, TensorOptions(DType::f64).requires_grad());
    sum(op(x)).backward();
    return x.grad().item();
  };
  EXPECT_EQ(grad_at_zero(relu), 0.0);
  EXPECT_EQ(grad_at_zero([](const Tensor& x) { return leaky_relu(x, 0.2); }), 0.2);
  EXPECT_EQ(grad_at_zero([](const Tensor& x) { return elu(x, 0.7); }), 0.7);
}

TEST(Activation, FloatBackwardMatchesDouble) {
  // The f32 kernels follow the same formulas: gradients agree to f32 rounding.
  const std::vector<double> v{-2.5, -1.0, -0.3, 0.2, 0.7, 1.9, 4.0};
  Tensor (*ops[])(const Tensor&) = {
      relu, silu, sigmoid, tanh, [](const Tensor& x) { return leaky_relu(x, 0.1); },
      [](const Tensor& x) { return elu(x, 0.5); }, [](const Tensor& x) { return gelu(x); },
      [](const Tensor& x) { return gelu(x, GeluApproximate::tanh); }};
  for (auto op : ops) {
    Tensor x64 = Tensor::from_vector(v, {7}, TensorOptions(DType::f64).requires_grad());
    Tensor x32 = Tensor::from_vector(v, {7}, TensorOptions(DType::f32).requires_grad());
    sum(op(x64)).backward();
    sum(op(x32)).backward();
    expect_close(x32.grad().to_vector(), x64.grad().to_vector(), 1e-6, 1e-5, "f32 gradient");
  }
}

TEST(Activation, ReluPropagatesNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor y = relu(Tensor::from_vector(std::vector<double>{nan, -1.0}, {2}, DType::f64));
  EXPECT_TRUE(std::isnan(y.to_vector()[0]));
  EXPECT_EQ(y.to_vector()[1], 0.0);
}

TEST(Activation, SigmoidAndTanhSaturateWithoutNaN) {
  Tensor x = Tensor::from_vector(std::vector<float>{-200.f, 200.f}, {2});
  EXPECT_EQ(sigmoid(x).to_vector(), (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(tanh(x).to_vector(), (std::vector<double>{-1.0, 1.0}));
}

TEST(Activation, NonFloatingInputIsAnError) {
  Tensor idx = Tensor::from_vector(std::vector<int64_t>{1, 2}, {2});
  EXPECT_THROW(relu(idx), Error);
  try {
    gelu(idx);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gelu"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace danlu
