// The training health monitor: its statistics against a step worked out by
// hand, its records in a real run (which it must not change), and the
// warnings each condition raises, once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "layers/conv.h"
#include "tests/support/metrics.h"
#include "tests/support/monitor_case.h"
#include "train/health_warnings.h"
#include "train/trainer.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(Monitor, MatchesATinyStepWorkedOutByHand) {
  testing::expect_health_near(testing::monitored_tiny_step(Device::cpu()),
                              testing::tiny_step_by_hand());
}

// A unit of an image tensor is a channel: dead when zero at every pixel of
// every image. 1x1 kernels: channel 0 passes the positive input, channel 1
// is -x - 1 < 0 everywhere, channel 2 is x - 1.5, alive where x > 1.5 only.
TEST(Monitor, ADeadChannelIsZeroOverTheBatchAndEveryPixel) {
  auto net = std::make_shared<nn::Sequential>(nn::Conv2d(nn::Conv2dOptions(1, 3, 1)), nn::ReLU());
  Tensor(*net->named_parameters().find("0.weight"))
      .copy_(Tensor::from_vector(std::vector<double>{1, -1, 1}, {3, 1, 1, 1}));
  Tensor(*net->named_parameters().find("0.bias"))
      .copy_(Tensor::from_vector(std::vector<double>{0, -1, -1.5}, {3}));
  MonitorStep watch(*net);
  const Tensor x = Tensor::from_vector(std::vector<double>{1, 1, 1, 1, 1, 1, 1, 2}, {2, 1, 2, 2});
  sum((*net)(x)).backward();
  watch.after_backward();
  EXPECT_DOUBLE_EQ(watch.read().at(0).dead_fraction, 1.0 / 3);
}

std::vector<json> records_of(const fs::path& run, const std::string& kind) {
  std::vector<json> out;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);)
    if (json r = json::parse(line); r["kind"] == kind) out.push_back(r);
  return out;
}

// Monitoring unfuses BatchNorm+ReLU and reads numbers back; the losses must
// stay the same bits.
TEST(Monitor, RecordsEveryNthStepWithoutChangingTheRun) {
  const fs::path dir = fs::temp_directory_path() / ("danlu_monitor_" + std::to_string(::getpid()));
  json user = {{"data", {{"train_limit", 256}, {"test_limit", 64}, {"num_workers", 0}}},
               {"batch_size", 64},
               {"epochs", 1},
               {"log_every", 1},
               {"monitor", {{"every", 2}}}};
  RunOptions watched{(dir / "watched").string(), "", false, nullptr};
  run_training(parse_config(user), Device::cpu(), watched);
  user["monitor"]["every"] = 0;
  RunOptions plain{(dir / "plain").string(), "", false, nullptr};
  run_training(parse_config(user), Device::cpu(), plain);

  EXPECT_EQ(testing::step_losses(dir / "watched"), testing::step_losses(dir / "plain"));
  EXPECT_TRUE(records_of(dir / "plain", "monitor").empty());
  const std::vector<json> monitored = records_of(dir / "watched", "monitor");
  ASSERT_EQ(monitored.size(), 2u);  // steps 2 and 4
  EXPECT_EQ(monitored[1]["step"], 4);
  std::string layers;
  for (const json& l : monitored[0]["layers"]) {
    layers += l["layer"].get<std::string>() + ":" + l["type"].get<std::string>() + " ";
    EXPECT_GT(l["grad_norm"].get<double>(), 0) << l;
    EXPECT_GT(l["update_ratio"].get<double>(), 0) << l;
    EXPECT_GT(l["act_std"].get<double>(), 0) << l;
  }
  EXPECT_EQ(layers, "0:Conv2d 1:BatchNorm2d 4:Conv2d 5:BatchNorm2d 9:Linear ");
  const json& bn = monitored[0]["layers"][1];  // its ReLU's units; the convs feed BatchNorms
  EXPECT_GE(bn["dead_fraction"].get<double>(), 0);
  EXPECT_TRUE(monitored[0]["layers"][0]["dead_fraction"].is_null());
  fs::remove_all(dir);
}

LayerHealth layer(const std::string& name, double grad_norm, double update_ratio = 1e-3,
                  double dead = 0) {
  LayerHealth l;
  l.layer = name, l.type = "Linear";
  l.grad_norm = grad_norm, l.weight_norm = 1, l.update_ratio = update_ratio;
  l.dead_fraction = dead;
  return l;
}

std::string conditions(const std::vector<HealthWarning>& warnings) {
  std::string out;
  for (const HealthWarning& w : warnings) out += w.condition + " ";
  return out;
}

TEST(HealthWarnings, AHealthyStepRaisesNone) {
  HealthWarnings w;
  EXPECT_EQ(conditions(w.check({layer("0", 0.5), layer("1", 1.0, 3e-3, 0.2)}, 10, 0.1)), "");
  EXPECT_EQ(conditions(w.check({layer("0", 2.0), layer("1", 4.0, 3e-4)}, 20, 0.1)), "");
}

TEST(HealthWarnings, VanishingGradientsNameBothLayersAndTheRatio) {
  HealthWarnings w;
  const std::vector<HealthWarning> got = w.check({layer("0", 1e-6), layer("5", 1e-2)}, 30, 0.1);
  ASSERT_EQ(conditions(got), "vanishing_gradients ");
  EXPECT_NE(got[0].message.find("step 30: vanishing gradients: layer 0 (Linear) has gradient "
                                "norm 1e-06, 10000x smaller than the last layer 5 (Linear) (0.01)"),
            std::string::npos)
      << got[0].message;
  EXPECT_TRUE(w.check({layer("0", 1e-6), layer("5", 1e-2)}, 40, 0.1).empty());  // once
}

TEST(HealthWarnings, ExplodingGradientsCompareWithTheFirstMonitoredStep) {
  HealthWarnings w;
  EXPECT_TRUE(w.check({layer("0", 1.0), layer("1", 2.0)}, 10, 0.1).empty());
  const std::vector<HealthWarning> got = w.check({layer("0", 300.0), layer("1", 2.0)}, 20, 0.1);
  ASSERT_EQ(conditions(got), "exploding_gradients ");
  EXPECT_NE(got[0].message.find("layer 0 (Linear) has gradient norm 300, 300x its 1 at the first "
                                "monitored step; lower the learning rate"),
            std::string::npos)
      << got[0].message;
  HealthWarnings inf;
  EXPECT_EQ(conditions(inf.check({layer("0", INFINITY), layer("1", 1)}, 5, 0.1)),
            "exploding_gradients ");
  HealthWarnings frozen;  // NaN: not measured
  EXPECT_EQ(conditions(frozen.check({layer("0", NAN), layer("1", 1)}, 5, 0.1)), "");
}

TEST(HealthWarnings, MostlyDeadUnits) {
  HealthWarnings w;
  EXPECT_TRUE(w.check({layer("0", 1, 1e-3, 0.5), layer("1", 1)}, 10, 0.1).empty());  // half: fine
  const std::vector<HealthWarning> got = w.check({layer("0", 1, 1e-3, 0.75), layer("1", 1)}, 20, 0.1);
  ASSERT_EQ(conditions(got), "dead_units ");
  EXPECT_NE(got[0].message.find("75% of the units of the ReLU after layer 0 (Linear)"),
            std::string::npos)
      << got[0].message;
}

TEST(HealthWarnings, UpdateRatioFarFrom1e3SuggestsTheLearningRate) {
  HealthWarnings one_layer_burst;
  EXPECT_TRUE(one_layer_burst.check({layer("0", 1, 0.5), layer("1", 1), layer("2", 1)}, 10, 2.0).empty());
  HealthWarnings high;
  const std::vector<HealthWarning> got = high.check({layer("0", 1, 0.5), layer("1", 1)}, 10, 2.0);
  ASSERT_EQ(conditions(got), "update_ratio_high ");
  EXPECT_NE(got[0].message.find("update ratio ||dw||/||w|| 0.5 in the median layer and 0.5 in "
                                "layer 0 (Linear)"),
            std::string::npos)
      << got[0].message;
  EXPECT_NE(got[0].message.find("the learning rate 2 looks too high, try 0.2"), std::string::npos)
      << got[0].message;
  HealthWarnings low;
  const std::vector<HealthWarning> slow =
      low.check({layer("0", 1, 1e-7), layer("1", 1, 1e-6)}, 10, 1e-5);
  ASSERT_EQ(conditions(slow), "update_ratio_low ");
  EXPECT_NE(slow[0].message.find("the learning rate 1e-05 looks too low, try 0.0001"),
            std::string::npos)
      << slow[0].message;
  HealthWarnings decayed(/*base_lr=*/0.1);  // a schedule, not the configured rate, made it small
  EXPECT_TRUE(decayed.check({layer("0", 1, 1e-7), layer("1", 1, 1e-6)}, 10, 1e-5).empty());
}

}  // namespace
}  // namespace danlu::train
