// Finetuning: name patterns (prefix or glob) for freeze and param_groups,
// discriminative rates by depth, gradual unfreezing in a real run, the report
// of pretrained weights with a new head, PyTorch-saved weights giving
// PyTorch's logits, and the class selection of the data.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "engine/autograd.h"
#include "engine/error.h"
#include "layers/builder.h"
#include "layers/models.h"
#include "layers/serialize.h"
#include "tests/support/error_of.h"
#include "tests/support/reference.h"
#include "tests/support/test_directory.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/data.h"
#include "train/finetune.h"
#include "train/session.h"
#include "train/trainer.h"

namespace danlu::train {
namespace {

using nlohmann::json;

// The error of building a session from `user` ("" when none).
std::string error_of(const json& user) {
  return testing::error_of([&] { make_session(parse_config(user), Device::cpu(), {1, 28, 28}, 10); });
}

TEST(Finetune, PatternsArePrefixesOfWholePartsOrGlobs) {
  EXPECT_TRUE(name_matches("fc.weight", "fc"));
  EXPECT_FALSE(name_matches("fc2.weight", "fc"));
  EXPECT_TRUE(name_matches("layer1.0.conv1.weight", "layer1.0"));
  EXPECT_TRUE(name_matches("layer1.0.conv1.weight", "layer*"));  // * crosses dots
  EXPECT_TRUE(name_matches("4.bias", "[0-5].*"));
  EXPECT_FALSE(name_matches("14.bias", "[0-5].*"));
  EXPECT_FALSE(name_matches("fc.weight", "layer*"));
}

TEST(Finetune, FreezeAndParamGroupsTakeGlobs) {
  const TrainConfig c = parse_config({{"freeze", {"[0-5].*"}},
                                      {"param_groups", {{{"params", "9.*"}, {"lr", 0.001}}}},
                                      {"optimizer", {{"type", "SGD"}, {"lr", 0.1}}}});
  const Session s = make_session(c, Device::cpu(), {1, 28, 28}, 10);
  for (const auto& [name, p] : s.model->named_parameters())
    EXPECT_EQ(p.requires_grad(), name.rfind("9.", 0) == 0) << name;
  // The head is the only trainable layer: its group, and no "rest".
  EXPECT_EQ(s.group_names, (std::vector<std::string>{"9.*"}));
  EXPECT_EQ(s.optimizer->params(0).size(), 2u);
  EXPECT_EQ(error_of({{"freeze", {"conv*"}}}),
            "freeze[0]: \"conv*\" matches no parameter name (names look like \"0.weight\" or "
            "\"fc.bias\"; a glob such as \"layer1*\" selects by pattern)");
}

TEST(Finetune, LayerLrDecayGivesEachDepthItsRate) {
  // fashion_cnn: 0 Conv2d, 1 BatchNorm2d, 4 Conv2d, 5 BatchNorm2d, 9 Linear.
  const TrainConfig c = parse_config(
      {{"optimizer", {{"type", "SGD"}, {"lr", 0.1}, {"momentum", 0.9}, {"layer_lr_decay", 0.5}}}});
  const Session s = make_session(c, Device::cpu(), {1, 28, 28}, 10);
  EXPECT_EQ(s.group_names, (std::vector<std::string>{"9", "4+5", "0+1"}));
  ASSERT_EQ(s.optimizer->num_param_groups(), 3u);
  EXPECT_DOUBLE_EQ(s.optimizer->lr(0), 0.1);
  EXPECT_DOUBLE_EQ(s.optimizer->lr(1), 0.05);
  EXPECT_DOUBLE_EQ(s.optimizer->lr(2), 0.025);
  EXPECT_EQ(s.optimizer->params(1).size(), 4u);  // the conv's and its BatchNorm's
  EXPECT_EQ(error_of({{"optimizer", {{"type", "SGD"}, {"lr", 0.1}, {"layer_lr_decay", 1.5}}}}),
            "optimizer.layer_lr_decay: expected a number in (0, 1] (each layer's rate is this "
            "times the rate of the layer after it; 0.7 is usual), got 1.5");
}

class FinetuneRun : public testing::TestDirectory {
 protected:
  // The quick CNN on 256 training images (4 steps an epoch) with its body
  // frozen until `unfreeze_at_epoch`; returns the final weights.
  nn::StateDict train(int64_t epochs, const std::string& name) {
    const TrainConfig c = parse_config({{"data", {{"train_limit", 256}, {"test_limit", 100}, {"num_workers", 0}}},
                                        {"batch_size", 64},
                                        {"epochs", epochs},
                                        {"freeze", {"0", "1", "4", "5"}},
                                        {"unfreeze_at_epoch", 2},
                                        {"optimizer", {{"type", "SGD"}, {"lr", 0.05}, {"momentum", 0.9}}}});
    const std::string dir = (dir_ / name).string();
    const RunSummary s = run_training(c, Device::cpu(), RunOptions{dir, "", false, nullptr});
    EXPECT_EQ(s.end, RunEnd::finished) << s.message;
    return read_weights(dir + "/last.safetensors");
  }
};

TEST_F(FinetuneRun, UnfreezeAtEpochTrainsTheBodyFromThatEpoch) {
  const TrainConfig c = parse_config({{"freeze", {"0", "1", "4", "5"}}, {"unfreeze_at_epoch", 2}});
  const Session s = make_session(c, Device::cpu(), {1, 28, 28}, 4);
  EXPECT_EQ(s.optimizer->parameters().size(), 10u);  // the frozen layers wait in the optimizer
  const nn::StateDict initial = s.model->state_dict();

  const nn::StateDict one = train(1, "one"), two = train(2, "two");
  EXPECT_EQ(one["0.weight"].to_vector(), initial["0.weight"].to_vector());
  EXPECT_EQ(one["5.bias"].to_vector(), initial["5.bias"].to_vector());
  EXPECT_NE(one["9.weight"].to_vector(), initial["9.weight"].to_vector());
  EXPECT_NE(two["0.weight"].to_vector(), initial["0.weight"].to_vector());
  EXPECT_NE(two["5.bias"].to_vector(), initial["5.bias"].to_vector());
  std::ifstream metrics(dir_ / "two" / "metrics.jsonl");
  std::string line, unfreeze;
  while (std::getline(metrics, line))
    if (line.find("\"unfreeze\"") != std::string::npos) unfreeze = line;
  EXPECT_EQ(json::parse(unfreeze).value("epoch", 0), 2) << unfreeze;
  EXPECT_EQ(json::parse(unfreeze).value("tensors", 0), 8);
  EXPECT_EQ(error_of({{"unfreeze_at_epoch", 2}}),
            "unfreeze_at_epoch: nothing is frozen; give \"freeze\" the layers to train later");
}

TEST_F(FinetuneRun, PretrainedWithAnotherClassCountGetsAFreshHeadAndSaysSo) {
  // The fashion_cnn architecture with a 5-class head, saved.
  json five = {{"layers", json::array()}};
  for (const char* layer :
       {R"({"type": "Conv2d", "in_channels": 1, "out_channels": 32, "kernel_size": 3, "padding": 1})",
        R"({"type": "BatchNorm2d", "num_features": 32})", R"({"type": "ReLU"})",
        R"({"type": "MaxPool2d", "kernel_size": 2})",
        R"({"type": "Conv2d", "in_channels": 32, "out_channels": 64, "kernel_size": 3, "padding": 1})",
        R"({"type": "BatchNorm2d", "num_features": 64})", R"({"type": "ReLU"})",
        R"({"type": "MaxPool2d", "kernel_size": 2})", R"({"type": "Flatten"})",
        R"({"type": "Linear", "in_features": 3136, "out_features": 5})"})
    five["layers"].push_back(json::parse(layer));
  Generator gen(7);
  const auto pretrained = nn::build_model(five, &gen);
  const std::string file = (dir_ / "five.safetensors").string();
  nn::save_state_dict(file, pretrained->state_dict());

  const TrainConfig c = parse_config({{"pretrained", file}});
  const Session s = make_session(c, Device::cpu(), {1, 28, 28}, 10);
  const json& r = s.pretrained;
  EXPECT_EQ(r["kind"], "pretrained");
  EXPECT_EQ(r["loaded"].size(), 14u);  // two convs, two BatchNorms with their statistics
  EXPECT_EQ(r["reinitialised"],
            json({"9.weight: (5, 3136) in the dict, (10, 3136) in the model",
                  "9.bias: (5) in the dict, (10) in the model"}));
  EXPECT_EQ(r["text"].get<std::string>().rfind("pretrained " + file + ": loaded 14 of the model's 16 "
                                               "tensors; re-initialised (shape differs, e.g. a new "
                                               "head): 9.weight: (5, 3136) in the dict",
                                               0),
            0u)
      << r["text"];
  // The body is the file's; the head is the fresh initialisation of the seed.
  const Session fresh = make_session(parse_config(json::object()), Device::cpu(), {1, 28, 28}, 10);
  const nn::StateDict loaded = s.model->state_dict();
  EXPECT_EQ(loaded["4.weight"].to_vector(), pretrained->state_dict()["4.weight"].to_vector());
  EXPECT_EQ(loaded["9.weight"].to_vector(), fresh.model->state_dict()["9.weight"].to_vector());
}

// configs/finetune: the pretraining config and each transfer config from
// its checkpoint, a few steps each on a slice of the data.
TEST_F(FinetuneRun, ShippedTransferConfigsTrainFromThePretrainingRun) {
  const std::string configs = std::string(DANLU_SOURCE_DIR) + "/configs/finetune/";
  const std::vector<std::string> few = {"max_steps=3", "epochs=1", "data.test_limit=50",
                                        "data.train_limit=2000", "data.num_workers=0"};
  const auto run = [&](const std::string& config, std::vector<std::string> overrides,
                       const std::string& name) {
    overrides.insert(overrides.end(), few.begin(), few.end());
    const RunSummary s = run_training(load_config(configs + config, overrides), Device::cpu(),
                                      RunOptions{(dir_ / name).string(), "", false, nullptr});
    EXPECT_EQ(s.end, RunEnd::finished) << config << ": " << s.message;
    EXPECT_EQ(s.steps, 3) << config;
  };
  run("pretrain_classes_0to4.json", {}, "pretrain");
  const std::string weights = "pretrained=" + (dir_ / "pretrain" / "last.safetensors").string();
  run("transfer_scratch.json", {}, "scratch");
  for (const char* name : {"features", "full", "discriminative", "gradual"})
    run(std::string("transfer_") + name + ".json", {weights}, name);
}

TEST(Finetune, TorchSavedFashionCnnGivesTorchsLogits) {
  const json expected = testing::load_reference("torch_fashion_cnn.json");
  auto model = nn::fashion_cnn();
  const nn::LoadReport report = model->load_state_dict(
      nn::load_state_dict_file(std::string(DANLU_REFERENCE_DIR) + "/torch_fashion_cnn.safetensors"),
      /*strict=*/true);
  EXPECT_EQ(report.loaded_keys.size(), 16u);
  model->eval();
  NoGradGuard no_grad;
  const json& in = expected.at("input");
  const Tensor x = Tensor::from_vector(in.at("data").get<std::vector<double>>(),
                                       Shape(in.at("shape").get<std::vector<int64_t>>()));
  const std::vector<double> logits = (*model)(x).to_vector();
  const auto want = expected.at("logits").at("data").get<std::vector<double>>();
  ASSERT_EQ(logits.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(logits[i], want[i], 1e-4) << i;
}

TEST(Finetune, ClassesAndPerClassSelectExamplesInFileOrder) {
  DataConfig d = parse_config({{"data", {{"classes", {5, 6}}, {"train_per_class", 3}}}}).data;
  const io::ImageDataset all = load_split(d, true);
  ASSERT_EQ(all.size(), 6);
  const io::ImageDataset file = load_split(parse_config(json::object()).data, true);
  std::map<int64_t, int> count;
  for (int64_t i = 0; i < all.size(); ++i) {
    const int64_t label = int64_t(all.labels.to_vector()[size_t(i)]);
    ++count[label];
    EXPECT_EQ(file.labels.to_vector()[size_t(all.source_of(i))], label);
    if (i > 0) {
      EXPECT_GT(all.source_of(i), all.source_of(i - 1));
    }
  }
  EXPECT_EQ(count, (std::map<int64_t, int>{{5, 3}, {6, 3}}));
  EXPECT_EQ(load_split(d, false).size(), 2000);  // the test split: every example of both
  EXPECT_EQ(error_of({{"data", {{"classes", {3, 12}}}}}),
            "data.classes: expected a list of labels from 0 to 9, got [3,12]");
}

}  // namespace
}  // namespace danlu::train
