// Softmax and log-softmax: values along each dimension, stability for large
// logits, and the error for a bad dimension.
#include <gtest/gtest.h>

#include <cmath>

#include "danlu.h"
#include "tests/support/expect_close.h"

namespace danlu {
namespace {

using testing::expect_close;

TEST(Softmax, RowsSumToOneAndLogSoftmaxIsItsLog) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, -1, 0, 1}, {2, 3}, DType::f64);
  // softmax([1, 2, 3]) = exp([-2, -1, 0]) / (1 + e^-1 + e^-2); same for the shifted row.
  const double z = 1 + std::exp(-1.0) + std::exp(-2.0);
  const std::vector<double> row{std::exp(-2.0) / z, std::exp(-1.0) / z, 1 / z};
  std::vector<double> expected = row;
  expected.insert(expected.end(), row.begin(), row.end());
  expect_close(softmax(x, 1).to_vector(), expected, 1e-15, 1e-14, "softmax dim 1");
  std::vector<double> logs;
  for (double v : expected) logs.push_back(std::log(v));
  expect_close(log_softmax(x, -1).to_vector(), logs, 1e-15, 1e-14, "log_softmax dim -1");
  // Along dim 0 each column is a pair whose entries differ by 2.
  const double a = 1 / (1 + std::exp(-2.0));
  expect_close(softmax(x, 0).to_vector(), {a, a, a, 1 - a, 1 - a, 1 - a}, 1e-15, 1e-14,
               "softmax dim 0");
}

TEST(Softmax, LargeLogitsStayFinite) {
  Tensor x = Tensor::from_vector(std::vector<float>{1000.f, 1000.f, -1000.f}, {1, 3});
  expect_close(softmax(x, 1).to_vector(), {0.5, 0.5, 0.0}, 1e-7, 0, "softmax of large logits");
  std::vector<double> logs = log_softmax(x, 1).to_vector();
  EXPECT_NEAR(logs[0], -std::log(2.0), 1e-6);
  EXPECT_NEAR(logs[2], -2000.0 - std::log(2.0), 1e-3);
}

TEST(Softmax, BadDimensionNamesTheOp) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_THROW(softmax(x, 2), Error);
  try {
    log_softmax(x, -3);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("log_softmax"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace danlu
