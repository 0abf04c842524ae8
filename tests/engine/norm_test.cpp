// batch_norm and layer_norm on hand-checkable cases: normalised values, the
// running-statistics update after one training step, eval mode, f32 vs f64,
// and the errors.
#include <gtest/gtest.h>

#include <cmath>

#include "danlu.h"
#include "tests/support/error_of.h"
#include "tests/support/expect_close.h"

namespace danlu {
namespace {

using testing::expect_close;

using testing::error_of;

// x (4, 2): channel 0 is 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3);
// channel 1 is 0, 0, 2, 2 (mean 1, biased var 1, unbiased 4/3).
Tensor two_channels(DType dtype) {
  return Tensor::from_vector(std::vector<double>{1, 0, 2, 0, 3, 2, 4, 2}, {4, 2}, dtype);
}

TEST(BatchNorm, TrainingStepUpdatesRunningStats) {
  Tensor running_mean = Tensor::zeros({2}, DType::f64);
  Tensor running_var = Tensor::ones({2}, DType::f64);
  Tensor y = batch_norm(two_channels(DType::f64), running_mean, running_var, Tensor(), Tensor(),
                        /*training=*/true, /*momentum=*/0.1, /*eps=*/1e-5);
  // running = 0.9 * running + 0.1 * batch statistic (unbiased variance).
  expect_close(running_mean.to_vector(), {0.25, 0.1}, 1e-15, 1e-15, "running_mean");
  expect_close(running_var.to_vector(), {0.9 + 0.1 * 5.0 / 3.0, 0.9 + 0.1 * 4.0 / 3.0}, 1e-15,
               1e-15, "running_var");
  // Normalised with the biased variance.
  const double s0 = 1 / std::sqrt(1.25 + 1e-5), s1 = 1 / std::sqrt(1.0 + 1e-5);
  expect_close(y.to_vector(),
               {-1.5 * s0, -s1, -0.5 * s0, -s1, 0.5 * s0, s1, 1.5 * s0, s1}, 1e-15, 1e-14,
               "batch_norm training output");
}

TEST(BatchNorm, EvalUsesRunningStatsAndLeavesThemAlone) {
  Tensor running_mean = Tensor::from_vector(std::vector<double>{1, -1}, {2}, DType::f64);
  Tensor running_var = Tensor::from_vector(std::vector<double>{4, 0.25}, {2}, DType::f64);
  Tensor weight = Tensor::from_vector(std::vector<double>{2, 1}, {2}, DType::f64);
  Tensor bias = Tensor::from_vector(std::vector<double>{0, 10}, {2}, DType::f64);
  Tensor y = batch_norm(two_channels(DType::f64), running_mean, running_var, weight, bias,
                        /*training=*/false, 0.1, /*eps=*/1e-12);
  // Channel 0: (x - 1) / 2 * 2; channel 1: (x + 1) / 0.5 + 10.
  expect_close(y.to_vector(), {0, 12, 1, 12, 2, 16, 3, 16}, 1e-10, 1e-10, "batch_norm eval");
  EXPECT_EQ(running_mean.to_vector(), (std::vector<double>{1, -1}));
  EXPECT_EQ(running_var.to_vector(), (std::vector<double>{4, 0.25}));
}

TEST(BatchNorm, FourDimensionalInputAndFloatMatchesDouble) {
  Tensor x64 = Tensor::randn({3, 4, 5, 7}, DType::f64);
  Tensor x32 = x64.to(DType::f32);
  Tensor rm64 = Tensor::zeros({4}, DType::f64), rv64 = Tensor::ones({4}, DType::f64);
  Tensor rm32 = Tensor::zeros({4}), rv32 = Tensor::ones({4});
  Tensor y64 = batch_norm(x64, rm64, rv64, Tensor(), Tensor(), true);
  Tensor y32 = batch_norm(x32, rm32, rv32, Tensor(), Tensor(), true);
  // f32 storage of inputs and outputs: ~1e-7 relative on values of order 1.
  expect_close(y32.to_vector(), y64.to_vector(), 1e-5, 1e-5, "f32 vs f64 output");
  expect_close(rv32.to_vector(), rv64.to_vector(), 1e-6, 1e-6, "f32 vs f64 running_var");
  // Each channel of the output has mean 0 and biased variance 1 (up to eps).
  std::vector<double> y = y64.to_vector();
  for (int c = 0; c < 4; ++c) {
    double sum = 0, sq = 0;
    for (int n = 0; n < 3; ++n)
      for (int s = 0; s < 35; ++s) {
        const double v = y[(n * 4 + c) * 35 + s];
        sum += v;
        sq += v * v;
      }
    EXPECT_NEAR(sum / 105, 0.0, 1e-12);
    EXPECT_NEAR(sq / 105, 1.0, 1e-4);
  }
}

TEST(BatchNorm, FloatBackwardMatchesDouble) {
  Tensor x = Tensor::randn({4, 3, 5}, DType::f64);
  Tensor w = Tensor::randn({3}, DType::f64);
  std::vector<std::vector<double>> grads[2];
  for (DType dtype : {DType::f64, DType::f32}) {
    Tensor xi = x.to(dtype).set_requires_grad(), wi = w.to(dtype).set_requires_grad();
    Tensor bi = Tensor::zeros({3}, TensorOptions(dtype).requires_grad());
    Tensor y = batch_norm(xi, Tensor(), Tensor(), wi, bi, true);
    sum(y * y.detach()).backward();  // a non-trivial upstream gradient dy = y
    grads[dtype == DType::f32].assign(
        {xi.grad().to_vector(), wi.grad().to_vector(), bi.grad().to_vector()});
  }
  // f32 stores the saved statistics and the gradients: ~1e-6 relative.
  for (int k = 0; k < 3; ++k) expect_close(grads[1][k], grads[0][k], 1e-5, 1e-4, "f32 grads");
}

TEST(BatchNorm, Errors) {
  Tensor x = Tensor::zeros({4, 3});
  Tensor c3 = Tensor::zeros({3}), c2 = Tensor::zeros({2});
  const std::string message = error_of([&] { batch_norm(x, c3, c3, c2, Tensor(), true); });
  EXPECT_NE(message.find("batch_norm: weight has shape (2)"), std::string::npos) << message;
  EXPECT_THROW(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false), Error);
  EXPECT_THROW(batch_norm(x, c3, Tensor(), Tensor(), Tensor(), true), Error);
  EXPECT_THROW(batch_norm(Tensor::zeros({1, 3}), c3, c3, Tensor(), Tensor(), true), Error);
  EXPECT_THROW(batch_norm(Tensor::zeros({5}), c3, c3, Tensor(), Tensor(), true), Error);
  EXPECT_THROW(batch_norm(x, Tensor::zeros({3}, DType::f64), c3, Tensor(), Tensor(), true), Error);
}

TEST(LayerNorm, NormalisesEachRowOverTrailingDims) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 0, 0, 6, 6}, {2, 2, 2},
                                 DType::f64);
  Tensor weight = Tensor::from_vector(std::vector<double>{1, 2, 1, 2}, {2, 2}, DType::f64);
  Tensor bias = Tensor::from_vector(std::vector<double>{0, 0, 1, 1}, {2, 2}, DType::f64);
  Tensor y = layer_norm(x, {2, 2}, weight, bias, 1e-12);
  // Row 0: mean 2.5, var 1.25; row 1: mean 3, var 9.
  const double s0 = 1 / std::sqrt(1.25);
  expect_close(y.to_vector(),
               {-1.5 * s0, -0.5 * s0 * 2, 0.5 * s0 + 1, 1.5 * s0 * 2 + 1, -1, -2, 2, 3}, 1e-10,
               1e-10, "layer_norm");
}

TEST(LayerNorm, FloatBackwardMatchesDouble) {
  Tensor x = Tensor::randn({3, 2, 5}, DType::f64);
  Tensor w = Tensor::randn({2, 5}, DType::f64);
  std::vector<std::vector<double>> grads[2];
  for (DType dtype : {DType::f64, DType::f32}) {
    Tensor xi = x.to(dtype).set_requires_grad(), wi = w.to(dtype).set_requires_grad();
    Tensor bi = Tensor::zeros({2, 5}, TensorOptions(dtype).requires_grad());
    Tensor y = layer_norm(xi, {2, 5}, wi, bi);
    sum(y * y.detach()).backward();
    grads[dtype == DType::f32].assign(
        {xi.grad().to_vector(), wi.grad().to_vector(), bi.grad().to_vector()});
  }
  for (int k = 0; k < 3; ++k) expect_close(grads[1][k], grads[0][k], 1e-5, 1e-4, "f32 grads");
}

TEST(LayerNorm, Errors) {
  Tensor x = Tensor::zeros({2, 3, 4});
  const std::string message = error_of([&] { layer_norm(x, {3}); });
  EXPECT_NE(message.find("layer_norm: normalized_shape (3)"), std::string::npos) << message;
  EXPECT_NE(message.find("(2, 3, 4)"), std::string::npos) << message;
  EXPECT_THROW(layer_norm(x, {}), Error);
  EXPECT_THROW(layer_norm(x, {1, 2, 3, 4}), Error);
  EXPECT_THROW(layer_norm(x, {4}, Tensor::ones({3})), Error);
  EXPECT_THROW(layer_norm(x, {3, 4}, Tensor(), Tensor::ones({4})), Error);
}

}  // namespace
}  // namespace danlu
