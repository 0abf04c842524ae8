// Tensor factories, metadata, conversions, views and shape errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "danlu.h"

namespace danlu {
namespace {

TEST(Tensor, FactoriesAndMetadata) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), Shape({2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dtype(), DType::f32);
  EXPECT_TRUE(z.device().is_cpu());
  EXPECT_EQ(z.size(-1), 3);
  EXPECT_EQ(Tensor::full({2}, 2.5, DType::f64).to_vector(), (std::vector<double>{2.5, 2.5}));
  EXPECT_EQ(Tensor::scalar(4.0).item(), 4.0);
  EXPECT_EQ(z.str(), "Tensor(f32, (2, 3), cpu)");
}

TEST(Tensor, FromVectorChecksTheCount) {
  EXPECT_THROW(Tensor::from_vector(std::vector<double>{1, 2, 3}, {2, 2}), Error);
  Tensor t = Tensor::from_vector(std::vector<int64_t>{3, 1}, {2});
  EXPECT_EQ(t.dtype(), DType::i64);
  EXPECT_EQ(t.data<int64_t>()[0], 3);
  EXPECT_THROW(t.data<float>(), Error);
}

TEST(Tensor, CloneCopiesDetachShares) {
  Tensor a = Tensor::ones({3});
  Tensor c = a.clone();
  Tensor d = a.detach();
  a.fill_(7.0);
  EXPECT_EQ(c.to_vector(), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(d.to_vector(), (std::vector<double>{7, 7, 7}));
}

TEST(Tensor, DtypeConversion) {
  Tensor a = Tensor::from_vector(std::vector<double>{1.5, -2.25}, {2}, DType::f64);
  EXPECT_EQ(a.to(DType::f32).dtype(), DType::f32);
  EXPECT_EQ(a.to(DType::f32).to_vector(), (std::vector<double>{1.5, -2.25}));
}

TEST(Tensor, ReshapeIsAViewWithInference) {
  Tensor a = Tensor::zeros({2, 3, 4});
  Tensor b = a.reshape({-1, 4});
  EXPECT_EQ(b.shape(), Shape({6, 4}));
  b.fill_(1.0);
  EXPECT_EQ(a.to_vector()[23], 1.0);
  EXPECT_EQ(a.flatten(1).shape(), Shape({2, 12}));
  EXPECT_THROW(a.reshape({5, -1}), Error);
}

TEST(Tensor, PermuteMovesData) {
  Tensor a = Tensor::from_vector(std::vector<double>{0, 1, 2, 3, 4, 5}, {2, 3});
  EXPECT_EQ(a.transpose(0, 1).to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(a.permute({0, 0}), Error);
}

TEST(Tensor, BroadcastErrorNamesOpAndShapes) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
  try {
    add(a, b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("add: shapes (2, 3) and (4)"), std::string::npos)
        << e.what();
  }
}

TEST(Tensor, SameSeedSameNumbers) {
  Generator g1(42), g2(42), g3(43);
  Tensor a = Tensor::randn({100}, {}, &g1), b = Tensor::randn({100}, {}, &g2);
  Tensor c = Tensor::randn({100}, {}, &g3);
  EXPECT_EQ(a.to_vector(), b.to_vector());
  EXPECT_NE(a.to_vector(), c.to_vector());
}

TEST(Tensor, RandnMoments) {
  Generator g(7);
  std::vector<double> v = Tensor::randn({200000}, DType::f64, &g).to_vector();
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= v.size();
  for (double x : v) s += (x - m) * (x - m);
  s = std::sqrt(s / v.size());
  EXPECT_NEAR(m, 0.0, 0.01);
  EXPECT_NEAR(s, 1.0, 0.01);
}

TEST(Device, ParseAndAvailabilityNeverThrows) {
  EXPECT_EQ(Device::parse("cuda:1"), Device::cuda(1));
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_THROW(Device::parse("gpu"), Error);
  const bool available = cuda_available();  // must not throw on driverless machines
  EXPECT_EQ(available, cuda_device_count() > 0);
  EXPECT_EQ(available, cuda_unavailable_reason().empty());
}

}  // namespace
}  // namespace danlu

namespace danlu {
namespace {

TEST(Reduce, ArgmaxPicksTheFirstMaximum) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 5, 5, 0, 2, -1}, {2, 3});
  EXPECT_EQ(argmax(x, 1).to_vector(), (std::vector<double>{1, 1}));
  EXPECT_EQ(argmax(x, 0).to_vector(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(argmax(x, -1).dtype(), DType::i64);
}

TEST(Random, RandpermIsAPermutationAndSeeded) {
  Generator a(5), b(5);
  std::vector<int64_t> p = a.randperm(1000);
  EXPECT_EQ(p, b.randperm(1000));
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(p, sorted);
}

}  // namespace
}  // namespace danlu
