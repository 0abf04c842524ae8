// The configs shipped in configs/ parse and build, and each runs a few
// training steps: the Fashion-MNIST ones on a slice of the real data, the
// CIFAR-10 one on a tiny file written in the CIFAR binary format.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/error.h"
#include "train/session.h"
#include "train/trainer.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string config_path(const std::string& name) {
  return std::string(DANLU_SOURCE_DIR) + "/configs/" + name;
}

class ShippedConfig : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("danlu_configs_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Ten CIFAR records per file: labels i % 10, pixels a function of (record, byte).
  std::string write_cifar() {
    const fs::path cifar = dir_ / "cifar";
    fs::create_directories(cifar);
    for (const std::string file : {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                                   "data_batch_5", "test_batch"}) {
      std::ofstream out(cifar / (file + ".bin"), std::ios::binary);
      for (int r = 0; r < 10; ++r) {
        out.put(static_cast<char>(r));
        for (int i = 0; i < 3072; ++i) out.put(static_cast<char>((r * 29 + i * 7) % 256));
      }
    }
    return cifar.string();
  }
  fs::path dir_;
};

TEST_P(ShippedConfig, TrainsAFewSteps) {
  const std::string name = GetParam();
  std::vector<std::string> overrides = {"max_steps=3", "epochs=1", "batch_size=8",
                                        "eval_batch_size=16", "data.test_limit=16",
                                        "data.train_limit=32", "data.num_workers=0"};
  if (name == "cifar10_resnet20.json") overrides.push_back("data.path=" + write_cifar());
  const TrainConfig c = load_config(config_path(name), overrides);
  RunOptions o;
  o.run_dir = (dir_ / "run").string();
  const RunSummary s = run_training(c, Device::cpu(), o);
  EXPECT_EQ(s.end, RunEnd::finished) << s.message;
  EXPECT_EQ(s.steps, 3);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "last.safetensors"));
}

// Every config in configs/ (not its subfolders), so a new one is tested
// without being listed here.
std::vector<std::string> shipped_configs() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(std::string(DANLU_SOURCE_DIR) + "/configs"))
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Configs, ShippedConfig, ::testing::ValuesIn(shipped_configs()),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

TEST(ShippedConfigErrors, MissingCifarDataSaysWhereToGetIt) {
  try {
    const TrainConfig c = load_config(config_path("cifar10_resnet20.json"),
                                      {"data.path=/nonexistent/cifar"});
    run_training(c, Device::cpu(), RunOptions{"/tmp/danlu_unused_run", "", false, nullptr});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cifar"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace danlu::train
