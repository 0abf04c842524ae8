// Training configs: defaults, --set overrides, and the one-line errors that
// name the JSON path for unknown keys, wrong types and out-of-range values.
#include <gtest/gtest.h>

#include "engine/io/idx.h"
#include "engine/ops/conv.h"
#include "train/config.h"
#include "train/session.h"

namespace danlu::train {
namespace {

using nlohmann::json;

std::string error_of(const json& user) {
  try {
    const TrainConfig c = parse_config(user);
    make_session(c, Device::cpu(), {1, 28, 28}, 10);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, EmptyConfigIsTheDefaults) {
  const TrainConfig c = parse_config(json::object());
  EXPECT_EQ(c.json, default_config());
  EXPECT_EQ(c.batch_size, 128);
  EXPECT_EQ(c.data.dataset, "fashion_mnist");
  EXPECT_EQ(c.data.path, io::fashion_mnist_dir());
  ASSERT_EQ(c.data.normalization.mean.size(), 1u);
  EXPECT_NEAR(c.data.normalization.mean[0], 0.2860, 1e-6);
}

TEST(Config, UserValuesReplaceDefaultsAndKeepTheRest) {
  const TrainConfig c = parse_config(
      {{"batch_size", 32}, {"data", {{"augmentation", {{"horizontal_flip", true}}}}}});
  EXPECT_EQ(c.batch_size, 32);
  EXPECT_TRUE(c.data.augmentation.horizontal_flip);
  EXPECT_FALSE(c.data.augmentation.random_crop);
  EXPECT_EQ(c.json["data"]["dataset"], "fashion_mnist");
}

TEST(Config, UnknownKeysNameTheirPath) {
  EXPECT_EQ(error_of({{"batch", 3}}).rfind("batch: unknown key; expected one of ", 0), 0u);
  const std::string e = error_of({{"data", {{"augmentation", {{"flip", true}}}}}});
  EXPECT_EQ(e.rfind("data.augmentation.flip: unknown key; expected one of ", 0), 0u) << e;
  EXPECT_NE(e.find("horizontal_flip"), std::string::npos) << e;
}

TEST(Config, WrongTypesNameThePathAndTheValue) {
  EXPECT_EQ(error_of({{"batch_size", "big"}}), "batch_size: expected an integer, got \"big\"");
  EXPECT_EQ(error_of({{"batch_size", 1.5}}), "batch_size: expected an integer, got 1.5");
  EXPECT_EQ(error_of({{"label_smoothing", "x"}}), "label_smoothing: expected a number, got \"x\"");
  EXPECT_EQ(error_of({{"data", 3}}), "data: expected an object, got 3");
}

TEST(Config, OutOfRangeValues) {
  EXPECT_EQ(error_of({{"batch_size", 0}}), "batch_size: expected an integer >= 1, got 0");
  EXPECT_EQ(error_of({{"label_smoothing", 1.5}}),
            "label_smoothing: expected a number in [0, 1], got 1.5");
  EXPECT_EQ(error_of({{"data", {{"dataset", "imagenet"}}}}),
            "data.dataset: expected one of \"fashion_mnist\", \"mnist\", \"cifar10\", got "
            "\"imagenet\"");
  EXPECT_EQ(error_of({{"data", {{"dataset", "cifar10"}}}}),
            "data.path: required for cifar10 (the folder holding its files)");
  EXPECT_EQ(error_of({{"epochs", 0}}),
            "epochs: 0 needs max_steps > 0 (train for epochs, steps or both)");
}

// The convolution switches: checked when the config is read, and a session
// sets them for the process (engine/ops/conv.h).
TEST(Config, ConvVariantAndTf32) {
  EXPECT_EQ(error_of({{"conv_variant", 9}}),
            "conv_variant: expected 0 (automatic) or a rung of the convolution ladder (1, 2, 3, "
            "4, 5), got 9");
  EXPECT_EQ(error_of({{"conv_variant", -1}}), "conv_variant: expected an integer >= 0, got -1");
  EXPECT_EQ(error_of({{"allow_tf32", 0}}), "allow_tf32: expected true or false, got 0");
  const TrainConfig defaults = parse_config(json::object());
  EXPECT_EQ(defaults.conv_variant, 0);
  EXPECT_TRUE(defaults.allow_tf32);
  const TrainConfig c = parse_config({{"conv_variant", 2}, {"allow_tf32", false}});
  make_session(c, Device::cpu(), {1, 28, 28}, 10);
  EXPECT_EQ(conv_variant(), 2);
  EXPECT_FALSE(conv_allow_tf32());
  make_session(defaults, Device::cpu(), {1, 28, 28}, 10);
  EXPECT_EQ(conv_variant(), 0);
  EXPECT_TRUE(conv_allow_tf32());
}

TEST(Config, SectionsBuiltByTypeReportTheirOwnPaths) {
  EXPECT_EQ(error_of({{"optimizer", {{"type", "SGD"}, {"lr", 0.1}, {"momentum", "high"}}}}),
            "optimizer.momentum: expected a number, got \"high\"");
  EXPECT_EQ(error_of({{"optimizer", {{"type", "SGD"}, {"lr", 0.1}, {"momentum", -1}}}}),
            "optimizer.momentum: expected a number >= 0, got -1");
  const std::string sched = error_of({{"scheduler", {{"type", "StepLR"}}}});
  EXPECT_EQ(sched.rfind("scheduler.step_size: required by StepLR", 0), 0u) << sched;
  const std::string model = error_of({{"model", {{"preset", "vgg"}}}});
  EXPECT_EQ(model.rfind("model.preset: ", 0), 0u) << model;
}

TEST(Config, ParamGroupsAndFreezingSplitTheParameters) {
  TrainConfig c = parse_config(
      {{"freeze", {"0"}},
       {"param_groups", {{{"params", "9"}, {"lr", 0.001}}}},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.1}}}});
  const Session s = make_session(c, Device::cpu(), {1, 28, 28}, 10);
  ASSERT_EQ(s.optimizer->num_param_groups(), 2u);
  EXPECT_EQ(s.group_names, (std::vector<std::string>{"9", "rest"}));
  EXPECT_DOUBLE_EQ(s.optimizer->lr(0), 0.001);
  EXPECT_DOUBLE_EQ(s.optimizer->lr(1), 0.1);
  EXPECT_EQ(s.optimizer->params(0).size(), 2u);  // the Linear's weight and bias
  for (const auto& [name, p] : s.model->named_parameters())
    EXPECT_EQ(p.requires_grad(), name.rfind("0.", 0) != 0) << name;
  EXPECT_EQ(error_of({{"freeze", {"conv9"}}}),
            "freeze[0]: \"conv9\" matches no parameter name (names look like \"0.weight\" or "
            "\"fc.bias\"; a glob such as \"layer1*\" selects by pattern)");
  EXPECT_EQ(error_of({{"param_groups", {{{"params", "fc"}}}}}),
            "param_groups[0].params: \"fc\" matches no trainable parameter not already in an "
            "earlier group");
}

TEST(Config, SetOverridesParseJsonOrTakeAString) {
  json user = {{"optimizer", {{"type", "SGD"}, {"lr", 0.1}}}};
  apply_override(user, "optimizer.lr=0.5");
  apply_override(user, "data.dataset=mnist");
  apply_override(user, "data.augmentation.horizontal_flip=true");
  apply_override(user, "freeze=[\"0\"]");
  EXPECT_EQ(user["optimizer"]["lr"], 0.5);
  EXPECT_EQ(user["data"]["dataset"], "mnist");
  EXPECT_EQ(user["data"]["augmentation"]["horizontal_flip"], true);
  EXPECT_EQ(user["freeze"], json::array({"0"}));
  json layers = {{"model", {{"layers", {{{"type", "ReLU"}}, {{"type", "Dropout"}, {"p", 0.5}}}}}}};
  apply_override(layers, "model.layers.1.p=0.1");
  EXPECT_EQ(layers["model"]["layers"][1]["p"], 0.1);
  EXPECT_THROW(apply_override(layers, "model.layers.2.p=0.1"), Error);
  EXPECT_THROW(apply_override(layers, "model.layers.x=1"), Error);
  EXPECT_THROW(apply_override(user, "no_equals_sign"), Error);
  EXPECT_THROW(apply_override(user, "a..b=1"), Error);
}

}  // namespace
}  // namespace danlu::train
