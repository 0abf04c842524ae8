// The initialisation lab: the rules it sets per name, its one-line errors,
// and a real run of the shipped 20-layer plain ReLU network in which the
// guide's finding shows: under Xavier the activations shrink layer by layer
// (Glorot's gain ignores ReLU's halving), under Kaiming they keep their scale;
// every init sees the same batches, and the first conv's maps scale with the
// weights.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/error.h"
#include "train/config.h"
#include "train/data.h"
#include "train/init_lab.h"

namespace danlu::train {
namespace {

using nlohmann::json;

TEST(InitLab, NamesBecomeInitRules) {
  EXPECT_EQ(parse_init_choice("default", "relu").rule, json({{"scheme", "default"}}));
  EXPECT_EQ(parse_init_choice("kaiming_normal", "tanh").rule,
            json({{"scheme", "kaiming_normal"}, {"mode", "fan_in"}, {"nonlinearity", "tanh"}}));
  EXPECT_EQ(parse_init_choice("normal@0.01", "relu").rule,
            json({{"scheme", "normal"}, {"std", 0.01}}));
  EXPECT_EQ(parse_init_choice("uniform@0.5", "relu").rule,
            json({{"scheme", "uniform"}, {"a", -0.5}, {"b", 0.5}}));
  EXPECT_EQ(parse_init_choice("trunc_normal@0.02", "relu").rule,
            json({{"scheme", "trunc_normal"}, {"std", 0.02}, {"a", -0.04}, {"b", 0.04}}));
}

TEST(InitLab, BadNamesAreOneLineErrors) {
  const auto message = [](const std::string& spec, const std::string& nonlinearity) {
    try {
      parse_init_choice(spec, nonlinearity);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("he_normal", "relu"),
            "--inits: \"he_normal\": expected one of default, xavier_uniform, xavier_normal, "
            "kaiming_uniform, kaiming_normal, normal@STD, uniform@A, trunc_normal@STD");
  EXPECT_EQ(message("normal@-1", "relu"),
            "--inits: \"normal@-1\": expected a number > 0 after '@', got \"-1\"");
  EXPECT_EQ(message("normal", "relu").substr(0, 19), "--inits: \"normal\": ");
  EXPECT_EQ(message("xavier_normal", "swish"),
            "--nonlinearity: expected relu, leaky_relu, tanh, sigmoid, selu or linear, got "
            "\"swish\"");
}

TEST(InitLab, XavierShrinksADeepReluNetworkAndKaimingDoesNot) {
  json user = read_json_file(std::string(DANLU_SOURCE_DIR) + "/configs/fashion_plain20_relu.json");
  user["data"]["train_limit"] = 256, user["data"]["num_workers"] = 0, user["batch_size"] = 32;
  const TrainConfig config = parse_config(user);
  const io::ImageDataset data = load_split(config.data, true);
  InitLabOptions o;
  o.steps = 3;
  for (const char* name : {"xavier_normal", "kaiming_normal", "kaiming_normal"})
    o.inits.push_back(parse_init_choice(name, "relu"));
  const InitLabResult r = run_init_lab(config, Device::cpu(), data, o);

  ASSERT_EQ(r.runs.size(), 3u);
  EXPECT_EQ(r.first_conv, "Conv2d");
  EXPECT_EQ(r.image.height, 28);
  const InitRun &xavier = r.runs[0], &kaiming = r.runs[1];
  for (const InitRun& run : r.runs) {
    EXPECT_EQ(run.losses.size(), 3u);
    EXPECT_FALSE(run.diverged);
    ASSERT_EQ(run.first.size(), 20u);  // 19 convolutions and the classifier
    EXPECT_EQ(run.maps.size(), 8u);
  }
  // The last conv's activations relative to the first's.
  const auto decay = [](const InitRun& run) { return run.first[18].act_std / run.first[0].act_std; };
  EXPECT_LT(decay(xavier), 0.01);
  EXPECT_GT(decay(kaiming), 0.1);
  // The first conv (1 input channel, 16 outputs, 3x3) draws its weights
  // with std sqrt(2/9) under Kaiming and sqrt(2/(9+144)) under Xavier, from
  // the same normal draws: its maps' std differ by sqrt(153/9) = sqrt(17).
  EXPECT_NEAR(kaiming.maps_std / xavier.maps_std, std::sqrt(17.0), 1e-4);
  // The same seed: the same init gives the same run.
  EXPECT_EQ(r.runs[1].losses, r.runs[2].losses);
}

}  // namespace
}  // namespace danlu::train
