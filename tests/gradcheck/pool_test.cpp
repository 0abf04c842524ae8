// max_pool2d, avg_pool2d and adaptive_avg_pool2d: finite-difference
// gradients, PyTorch's output-size and divisor rules on hand-computed cases,
// tie-breaking, and the argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "danlu.h"
#include "tests/support/expect_close.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::expect_close;
using testing::gradcheck;
using Inputs = std::vector<Tensor>;

Pool2dParams pool(std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride = {0, 0},
                  std::array<int64_t, 2> padding = {0, 0}, bool ceil_mode = false,
                  bool count_include_pad = true) {
  Pool2dParams p;
  p.kernel = kernel;
  p.stride = stride;
  p.padding = padding;
  p.ceil_mode = ceil_mode;
  p.count_include_pad = count_include_pad;
  return p;
}

// Distinct values (a shuffled 0.1 * {0, 1, ...}) so that no window has a tie
// within the finite-difference step and max pooling is differentiable.
Tensor distinct_input(const Shape& shape, uint64_t seed) {
  std::vector<double> v(shape.numel());
  std::iota(v.begin(), v.end(), 0.0);
  Generator gen(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.random_below(i)]);
  for (double& x : v) x = 0.1 * x - 1.0;
  Tensor t = Tensor::from_vector(v, shape, DType::f64);
  t.set_requires_grad(true);
  return t;
}

Tensor values(std::vector<double> v, const Shape& shape) {
  return Tensor::from_vector(v, shape, DType::f64);
}

TEST(GradcheckPool, MaxPool) {
  const std::vector<std::pair<Shape, Pool2dParams>> cases = {
      {{2, 3, 4, 6}, pool({2, 2})},
      {{1, 2, 7, 6}, pool({3, 3}, {2, 2}, {1, 1})},
      {{2, 1, 6, 7}, pool({3, 2}, {2, 3}, {1, 1}, true)},  // non-square, ceil mode
      {{1, 2, 5, 5}, pool({2, 2}, {2, 2}, {1, 1}, true)},  // last window dropped by ceil rule
      {{1, 1, 5, 6}, pool({2, 3}, {1, 2})},                // overlapping windows
  };
  uint64_t seed = 1;
  for (const auto& [shape, p] : cases) {
    SCOPED_TRACE(::testing::Message() << "x " << shape);
    Tensor x = distinct_input(shape, seed++);
    EXPECT_TRUE(gradcheck([p = p](const Inputs& t) { return max_pool2d(t[0], p); }, {x}));
  }
}

TEST(GradcheckPool, AvgPool) {
  const std::vector<std::pair<Shape, Pool2dParams>> cases = {
      {{2, 2, 4, 6}, pool({2, 2})},
      {{1, 2, 7, 6}, pool({3, 3}, {2, 2}, {1, 1})},
      {{1, 2, 7, 6}, pool({3, 3}, {2, 2}, {1, 1}, false, false)},
      {{2, 1, 6, 7}, pool({3, 2}, {2, 3}, {1, 1}, true)},
      {{1, 1, 5, 5}, pool({3, 3}, {2, 2}, {1, 1}, true, false)},
  };
  uint64_t seed = 10;
  for (const auto& [shape, p] : cases) {
    SCOPED_TRACE(::testing::Message() << "x " << shape);
    Tensor x = testing::random_input(shape, seed++);
    EXPECT_TRUE(gradcheck([p = p](const Inputs& t) { return avg_pool2d(t[0], p); }, {x}));
  }
}

TEST(GradcheckPool, AdaptiveAvgPool) {
  Tensor x = testing::random_input({2, 2, 5, 7}, 20);
  for (std::array<int64_t, 2> size : {std::array<int64_t, 2>{3, 4}, {1, 1}, {5, 7}, {2, 3}}) {
    SCOPED_TRACE(::testing::Message() << size[0] << "x" << size[1]);
    EXPECT_TRUE(
        gradcheck([size](const Inputs& t) { return adaptive_avg_pool2d(t[0], size); }, {x}));
  }
}

TEST(Pool, MaxPoolValuesAndCeilMode) {
  std::vector<double> v(25);
  std::iota(v.begin(), v.end(), 0.0);
  Tensor x = values(v, {1, 1, 5, 5});
  expect_close(max_pool2d(x, pool({2, 2})).to_vector(), {6, 8, 16, 18}, 0, 0, "floor");
  // ceil_mode keeps the partial windows at the right and bottom edges.
  expect_close(max_pool2d(x, pool({2, 2}, {2, 2}, {0, 0}, true)).to_vector(),
               {6, 8, 9, 16, 18, 19, 21, 23, 24}, 0, 0, "ceil");
  // With padding 1, a 4th window would start at 6 >= H + pad: PyTorch drops it.
  EXPECT_EQ(max_pool2d(x, pool({2, 2}, {2, 2}, {1, 1}, true)).shape(), Shape({1, 1, 3, 3}));
  // ceil_mode even admits a kernel larger than the input (one clipped window).
  expect_close(max_pool2d(values({3, 1, 4, 2}, {1, 1, 2, 2}), pool({3, 3}, {2, 2}, {0, 0}, true))
                   .to_vector(),
               {4}, 0, 0, "kernel over the edge");
}

TEST(Pool, MaxPoolTiesPickTheFirstAndNaNWins) {
  Tensor x = Tensor::ones({1, 1, 2, 4}, DType::f64).set_requires_grad(true);
  sum(max_pool2d(x, pool({2, 2}))).backward();
  expect_close(x.grad().to_vector(), {1, 0, 1, 0, 0, 0, 0, 0}, 0, 0, "tie gradient");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor y = max_pool2d(values({1, nan, 3, 4}, {1, 1, 2, 2}), pool({2, 2}));
  EXPECT_TRUE(std::isnan(y.item()));
}

TEST(Pool, AvgPoolDivisors) {
  Tensor x = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  expect_close(avg_pool2d(x, pool({2, 2}, {2, 2}, {1, 1})).to_vector(), {0.25, 1.25, 2.75, 7},
               1e-15, 0, "count_include_pad");
  expect_close(avg_pool2d(x, pool({2, 2}, {2, 2}, {1, 1}, false, false)).to_vector(),
               {1, 2.5, 5.5, 7}, 1e-15, 0, "exclude pad");
  // ceil_mode: the divisor counts padding only up to H + pad, not past it.
  Tensor ones = Tensor::ones({1, 1, 4, 4}, DType::f64);
  expect_close(avg_pool2d(ones, pool({3, 3}, {2, 2}, {1, 1}, true)).to_vector(),
               {4.0 / 9, 6.0 / 9, 1.0 / 3, 6.0 / 9, 1, 0.5, 1.0 / 3, 0.5, 0.25}, 1e-15, 0,
               "ceil divisors");
  Tensor xf = x.to(DType::f32);
  expect_close(avg_pool2d(xf, pool({3, 3})).to_vector(), {5}, 1e-6, 0, "f32");
}

TEST(Pool, AdaptiveBins) {
  // H = 5 into 3 bins: [0, 2), [1, 4), [3, 5).
  Tensor x = values({1, 2, 3, 4, 5}, {1, 1, 5, 1});
  expect_close(adaptive_avg_pool2d(x, {3, 1}).to_vector(), {1.5, 3, 4.5}, 1e-15, 0, "bins");
  EXPECT_EQ(adaptive_avg_pool2d(Tensor::zeros({2, 3, 7, 7}), {1, 1}).shape(), Shape({2, 3, 1, 1}));
}

TEST(Pool, ArgumentErrors) {
  const Tensor x = Tensor::zeros({1, 2, 6, 6});
  try {
    max_pool2d(x, pool({3, 3}, {1, 1}, {2, 2}));
    FAIL() << "max_pool2d accepted padding over half the kernel";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_pool2d: padding (2, 2) must be >= 0 and at most "
                                         "half of kernel (3, 3)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(max_pool2d(Tensor::zeros({1, 1, 2, 2}), pool({3, 3})), Error);
  EXPECT_THROW(avg_pool2d(Tensor::zeros({2, 6, 6}), pool({2, 2})), Error);
  EXPECT_THROW(avg_pool2d(x, pool({0, 2})), Error);
  EXPECT_THROW(avg_pool2d(x, pool({2, 2}, {-1, 1})), Error);
  EXPECT_THROW(adaptive_avg_pool2d(x, {0, 2}), Error);
  EXPECT_THROW(max_pool2d(Tensor::zeros({1, 1, 4, 4}, DType::i64), pool({2, 2})), Error);
}

}  // namespace
}  // namespace danlu
