// matmul, bmm and linear: finite-difference gradients of every input,
// hand-computed forward values and the shape errors.
#include <gtest/gtest.h>

#include "danlu.h"
#include "tests/support/expect_close.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::expect_close;
using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

TEST(GradcheckLinear, Matmul2d) {
  Tensor a = random_input({3, 4}, 1), b = random_input({4, 5}, 2);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return matmul(x[0], x[1]); }, {a, b}));
}

TEST(GradcheckLinear, MatmulBatchedAndBmm) {
  Tensor a = random_input({2, 3, 4}, 3), b = random_input({2, 4, 2}, 4);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return matmul(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return bmm(x[0], x[1]); }, {a, b}));
}

TEST(GradcheckLinear, MatmulOneOperandFrozen) {
  Tensor a = random_input({3, 4}, 5), b = random_input({4, 2}, 6, -1.0, 1.0, false);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return matmul(x[0], x[1]); }, {a, b}));
  EXPECT_FALSE(b.grad().defined());
}

TEST(GradcheckLinear, LinearWithAndWithoutBias) {
  Tensor x = random_input({4, 5}, 7), w = random_input({3, 5}, 8), b = random_input({3}, 9);
  EXPECT_TRUE(gradcheck([](const Inputs& t) { return linear(t[0], t[1], t[2]); }, {x, w, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& t) { return linear(t[0], t[1]); }, {x, w}));
}

TEST(GradcheckLinear, LinearLeadingDimsAndBatchOne) {
  Tensor x = random_input({2, 3, 4}, 10), w = random_input({2, 4}, 11), b = random_input({2}, 12);
  EXPECT_TRUE(gradcheck([](const Inputs& t) { return linear(t[0], t[1], t[2]); }, {x, w, b}));
  Tensor x1 = random_input({1, 4}, 13);
  EXPECT_TRUE(gradcheck([](const Inputs& t) { return linear(t[0], t[1], t[2]); }, {x1, w, b}));
  Tensor v = random_input({4}, 14);
  EXPECT_EQ(linear(v, w, b).shape(), Shape({2}));
}

TEST(Linear, ForwardValues) {
  // [[1, 2], [3, 4]] . [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, DType::f64);
  Tensor b = Tensor::from_vector(std::vector<double>{5, 6, 7, 8}, {2, 2}, DType::f64);
  expect_close(matmul(a, b).to_vector(), {19, 22, 43, 50}, 0, 0, "matmul");
  // linear(a, b, [1, -1]) = a . b^T + bias = [[17, 22], [39, 52]] + [1, -1]
  Tensor bias = Tensor::from_vector(std::vector<double>{1, -1}, {2}, DType::f64);
  expect_close(linear(a, b, bias).to_vector(), {18, 22, 40, 52}, 0, 0, "linear");
  Tensor af = a.to(DType::f32), bf = b.to(DType::f32);
  expect_close(bmm(af.reshape({1, 2, 2}), bf.reshape({1, 2, 2})).to_vector(), {19, 22, 43, 50}, 0,
               0, "bmm f32");
}

TEST(Linear, ShapeErrors) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  try {
    matmul(a, b);
    FAIL() << "matmul accepted mismatched inner sizes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("matmul: cannot multiply (2, 3) by (4, 5)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(matmul(a, Tensor::zeros({2, 3, 4})), Error);
  EXPECT_THROW(bmm(a, Tensor::zeros({3, 2})), Error);
  EXPECT_THROW(bmm(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 5})), Error);
  EXPECT_THROW(matmul(a, Tensor::zeros({3, 2}, DType::f64)), Error);
  try {
    linear(Tensor::zeros({8, 6}), Tensor::zeros({10, 7}));
    FAIL() << "linear accepted mismatched features";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linear: input (8, 6) has 6 features but weight (10, 7)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(linear(Tensor::zeros({8, 7}), Tensor::zeros({10, 7}), Tensor::zeros({9})), Error);
  EXPECT_THROW(linear(Tensor::zeros({8, 7}), Tensor::zeros({7})), Error);
}

}  // namespace
}  // namespace danlu
