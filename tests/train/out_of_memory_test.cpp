// Out of memory while training says what the model takes beside the device's
// memory: a model that cannot fit is told to shrink, not to lower its batch
// size, and a batch too large is told to shrink. The host memory cap makes
// the failures happen at chosen sizes, as a full GPU would.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "engine/error.h"
#include "engine/host_memory.h"
#include "tests/support/error_of.h"
#include "train/trainer.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;
using danlu::testing::error_of;
using nlohmann::json;

json mlp_config(int64_t hidden, int64_t batch_size) {
  return {{"model", {{"preset", "mlp"}, {"in_features", 784}, {"hidden", {hidden}}, {"num_classes", 10}}},
          {"data", {{"train_limit", 256}, {"test_limit", 64}, {"num_workers", 0}}},
          {"batch_size", batch_size},
          {"epochs", 1},
          {"optimizer", {{"type", "Adam"}, {"lr", 1e-3}}}};
}

class OutOfMemoryAdvice : public ::testing::Test {
 protected:
  void TearDown() override {
    set_host_memory_limit(0);
    fs::remove_all(dir_);
  }
  // Trains `config` under a host memory cap of `cap` bytes above what is held
  // now; the cap covers the datasets too (f32 images, i64 labels).
  std::string train_capped(const json& config, uint64_t cap) {
    const TrainConfig parsed = parse_config(config);
    RunOptions o;
    o.run_dir = dir_.string();
    set_host_memory_limit(host_memory_stats().in_use + cap);
    return error_of([&] { run_training(parsed, Device::cpu(), o); });
  }
  fs::path dir_ = fs::temp_directory_path() / ("danlu_oom_" + std::to_string(::getpid()));
};

TEST_F(OutOfMemoryAdvice, AModelLargerThanTheDeviceIsToldToShrinkNotToLowerItsBatch) {
  // The 784-4096-10 MLP's weights are 13 MB; with gradients and Adam's two
  // buffers it needs 52 MB. 41 MB hold the data (1 MB), weights, gradients
  // and one of Adam's buffers, not the second.
  const std::string e = train_capped(mlp_config(4096, 8), 41'000'000);
  EXPECT_NE(e.find("out of host memory"), std::string::npos) << e;
  EXPECT_NE(e.find("parameters: weights"), std::string::npos) << e;
  EXPECT_NE(e.find("use a smaller model"), std::string::npos) << e;
  EXPECT_EQ(e.find("lower batch_size"), std::string::npos) << e;
}

TEST_F(OutOfMemoryAdvice, ABatchTooLargeForWhatTheModelLeavesIsToldToShrink) {
  // A 784-16-10 MLP is 200 KB with its state; the data is 13.1 MB, and a
  // batch of 4096 images needs 12.8 MB more for its input alone.
  json config = mlp_config(16, 4096);
  config["data"]["train_limit"] = 4096;
  const std::string e = train_capped(config, 21'000'000);
  EXPECT_NE(e.find("out of host memory"), std::string::npos) << e;
  EXPECT_NE(e.find("12730 parameters"), std::string::npos) << e;  // 784*16+16 + 16*10+10
  EXPECT_NE(e.find("a batch of 4096 need the rest; lower batch_size"), std::string::npos) << e;
}

TEST_F(OutOfMemoryAdvice, AWeightTensorBeyondTheMachineIsNamedWhileTheModelIsBuilt) {
  // One 784 x 65536 weight is 205 MB, over a 64 MB cap.
  const std::string e = train_capped(mlp_config(65536, 8), 64'000'000);
  EXPECT_NE(e.find("allocating 205520896 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("while building the model's weights"), std::string::npos) << e;
  EXPECT_NE(e.find("use a smaller model"), std::string::npos) << e;
}

}  // namespace
}  // namespace danlu::train
