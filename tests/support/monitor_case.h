// A monitored step small enough to check by hand, on any device:
//   x = [[1, 2], [3, -1]] -> Linear(2, 2) -> ReLU -> Linear(2, 1) -> loss = sum(y)
// with W1 = [[1, 0], [-1, -1]], b1 = [0, -10] (its second unit is negative,
// so dead, for both inputs), W2 = [[2, 1]], b2 = [0.5], and plain SGD at lr 0.1.
//   layer 0 output z1 = [[1, -13], [3, -12]]: mean -5.25, population std
//     sqrt(212.75 / 4); dead fraction of its ReLU 1/2;
//     dW1 = [[8, 2], [0, 0]], db1 = [4, 0]: gradient norm sqrt(84);
//     weight norm sqrt(1 + 1 + 1 + 100) = sqrt(103); update ratio 0.1 sqrt(84 / 103).
//   layer 2 output y = [[2.5], [6.5]]: mean 4.5, std 2; no ReLU after it;
//     dW2 = [[4, 0]], db2 = [2]: gradient norm sqrt(20); weight norm
//     sqrt(4 + 1 + 0.25) = sqrt(5.25); update ratio 0.1 sqrt(20 / 5.25).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/ops/reduce.h"
#include "layers/activation.h"
#include "layers/linear.h"
#include "layers/sequential.h"
#include "optim/sgd.h"
#include "train/monitor.h"

namespace danlu::testing {

inline std::vector<train::LayerHealth> monitored_tiny_step(Device device) {
  auto net = std::make_shared<nn::Sequential>(nn::Linear(2, 2), nn::ReLU(), nn::Linear(2, 1));
  const auto set = [&](const char* name, std::vector<double> v, Shape shape) {
    Tensor(*net->named_parameters().find(name)).copy_(Tensor::from_vector(v, shape));
  };
  set("0.weight", {1, 0, -1, -1}, {2, 2});
  set("0.bias", {0, -10}, {2});
  set("2.weight", {2, 1}, {1, 2});
  set("2.bias", {0.5}, {1});
  net->to(device);
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1));
  train::MonitorStep watch(*net);
  const Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, -1}, {2, 2}).to(device);
  const Tensor loss = sum((*net)(x));
  sgd.zero_grad();
  loss.backward();
  watch.after_backward();
  sgd.step();
  return watch.read();
}

// What the comment above works out, layer by layer.
inline std::vector<train::LayerHealth> tiny_step_by_hand() {
  const double nan = train::LayerHealth::kNotMeasured;
  return {{"0", "Linear", -5.25, std::sqrt(212.75 / 4), 0.5, std::sqrt(84.0), std::sqrt(103.0),
           0.1 * std::sqrt(84.0 / 103)},
          {"2", "Linear", 4.5, 2.0, nan, std::sqrt(20.0), std::sqrt(5.25),
           0.1 * std::sqrt(20 / 5.25)}};
}

// f32 sums of a few small integers: exact but for the square roots and the
// update's own rounding, so a relative 1e-6.
inline void expect_health_near(const std::vector<train::LayerHealth>& actual,
                               const std::vector<train::LayerHealth>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  const auto near = [](double a, double e, const char* what, const std::string& layer) {
    if (std::isnan(e))
      EXPECT_TRUE(std::isnan(a)) << layer << " " << what << ": " << a;
    else
      EXPECT_NEAR(a, e, 1e-6 * std::abs(e)) << layer << " " << what;
  };
  for (size_t i = 0; i < actual.size(); ++i) {
    const train::LayerHealth &a = actual[i], &e = expected[i];
    EXPECT_EQ(a.layer, e.layer);
    EXPECT_EQ(a.type, e.type);
    near(a.act_mean, e.act_mean, "act_mean", e.layer);
    near(a.act_std, e.act_std, "act_std", e.layer);
    near(a.dead_fraction, e.dead_fraction, "dead_fraction", e.layer);
    near(a.grad_norm, e.grad_norm, "grad_norm", e.layer);
    near(a.weight_norm, e.weight_norm, "weight_norm", e.layer);
    near(a.update_ratio, e.update_ratio, "update_ratio", e.layer);
  }
}

}  // namespace danlu::testing
