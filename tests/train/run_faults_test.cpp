// Faults a run must report truthfully: a metrics record that cannot be
// written (a full device) stops the run with the path and the system's
// reason, weights that hold NaN are named as such before training, and the
// summary's images/s counts the images trained (a data limit below the
// batch size makes a smaller batch).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "tests/support/error_of.h"
#include "train/checkpoint.h"
#include "train/report.h"
#include "train/trainer.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;
using danlu::testing::error_of;
using nlohmann::json;

// 40 training images with a batch size of 64: one batch of 40 per epoch.
json small_config() {
  return {{"model", {{"preset", "mlp"}, {"in_features", 784}, {"hidden", {16}}, {"num_classes", 10}}},
          {"data", {{"train_limit", 40}, {"test_limit", 64}, {"num_workers", 0}}},
          {"batch_size", 64},
          {"epochs", 2},
          {"optimizer", {{"type", "SGD"}, {"lr", 0.02}}},
          {"log_every", 1}};
}

class RunFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("danlu_faults_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  RunSummary train(const json& user, const std::string& run) {
    RunOptions o;
    o.run_dir = (dir_ / run).string();
    return run_training(parse_config(user), Device::cpu(), o);
  }
  fs::path dir_;
};

TEST_F(RunFaults, AMetricsRecordOnAFullDeviceStopsWithThePathAndReason) {
  ASSERT_TRUE(fs::exists("/dev/full"));
  MetricsLog log("/dev/full");
  const std::string e = error_of([&] { log.write({{"kind", "step"}, {"step", 1}}); });
  EXPECT_NE(e.find("/dev/full"), std::string::npos) << e;
  EXPECT_NE(e.find(std::strerror(ENOSPC)), std::string::npos) << e;
}

TEST_F(RunFaults, NaNWeightsAreNamedNotBlamedOnTheLearningRate) {
  train(small_config(), "run");
  nn::StateDict weights = read_weights((dir_ / "run" / "last.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> plain;
  for (const auto& [name, t] : weights) plain.emplace_back(name, t);
  Tensor& poisoned = plain.back().second;
  static_cast<float*>(poisoned.raw_data())[0] = std::numeric_limits<float>::quiet_NaN();
  const fs::path file = dir_ / "nan.safetensors";
  io::save_safetensors(file.string(), plain);

  json user = small_config();
  user["pretrained"] = file.string();
  const std::string e = error_of([&] { train(user, "from_nan"); });
  EXPECT_NE(e.find("weight tensor '" + plain.back().first + "' holds NaN"), std::string::npos) << e;
  EXPECT_EQ(e.find("learning rate"), std::string::npos) << e;
}

TEST_F(RunFaults, ImagesPerSecondCountsTheImagesTrained) {
  const RunSummary s = train(small_config(), "run");
  EXPECT_EQ(s.steps, 2);
  EXPECT_NEAR(s.images_per_s * s.seconds, 80.0, 1e-6);  // 2 x 40, not 2 x 64
}

}  // namespace
}  // namespace danlu::train
