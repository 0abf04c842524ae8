// run_training on a small slice of Fashion-MNIST: bit-exact resume from a
// checkpoint taken inside an epoch, refusal of damaged checkpoints (which
// stay untouched), the NaN stop, the stop request (Ctrl-C) and early stopping.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "tests/support/metrics.h"
#include "train/trainer.h"
#include "tests/support/files.h"

namespace danlu::train {
namespace {

using danlu::testing::read_file;

namespace fs = std::filesystem;
using nlohmann::json;
using testing::step_losses;

// 512 training images in batches of 64: 8 steps per epoch.
json small_config() {
  return {{"model", {{"preset", "fashion_cnn"}}},
          {"data", {{"train_limit", 512}, {"test_limit", 200}, {"num_workers", 0}}},
          {"batch_size", 64},
          {"epochs", 2},
          {"optimizer", {{"type", "SGD"}, {"lr", 0.02}, {"momentum", 0.9}}},
          {"scheduler", {{"type", "CosineAnnealingLR"}, {"T_max", 16}}},
          {"log_every", 1}};
}

class Run : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("danlu_run_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunSummary train(const json& user, const std::string& run, const std::string& resume = "",
                   const std::atomic<bool>* stop = nullptr) {
    RunOptions o;
    o.run_dir = (dir_ / run).string();
    o.resume = resume;
    o.stop = stop;
    return run_training(parse_config(user), Device::cpu(), o);
  }
  std::string error_of(const json& user, const std::string& run, const std::string& resume) {
    try {
      train(user, run, resume);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path dir_;
};

TEST_F(Run, ResumeInsideAnEpochIsBitExact) {
  json full = small_config();
  const RunSummary straight = train(full, "straight");
  EXPECT_EQ(straight.end, RunEnd::finished);
  EXPECT_EQ(straight.steps, 16);

  json first = small_config();
  first["max_steps"] = 11;  // 8 steps of epoch 1, 3 of epoch 2
  EXPECT_EQ(train(first, "resumed").steps, 11);
  {  // as if the first run had gone on past its checkpoint and then been killed mid-write
    std::ofstream log(dir_ / "resumed" / "metrics.jsonl", std::ios::app);
    log << R"({"kind":"step","step":12,"loss":7.5})" << '\n' << R"({"kind":"st)";
  }
  const RunSummary rest = train(full, "resumed", (dir_ / "resumed" / "last.safetensors").string());
  EXPECT_EQ(rest.steps, 16);
  EXPECT_EQ(rest.first_step, 11);  // the summary's time and speed cover steps 11 to 16
  EXPECT_EQ(straight.first_step, 0);

  const std::vector<double> a = step_losses(dir_ / "straight"), b = step_losses(dir_ / "resumed");
  ASSERT_EQ(a.size(), 16u);
  EXPECT_EQ(a, b);  // bit for bit, each step once: the resume dropped the records after step 11
  EXPECT_EQ(straight.final_accuracy, rest.final_accuracy);
  EXPECT_TRUE(fs::exists(dir_ / "straight" / "best.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "straight" / "config.json"));
}

TEST_F(Run, DamagedCheckpointsAreRefusedAndLeftAlone) {
  json one = small_config();
  one["epochs"] = 1;
  train(one, "run");
  const fs::path last = dir_ / "run" / "last.safetensors";
  const std::string good = read_file(last);

  const fs::path truncated = dir_ / "truncated.safetensors";
  std::ofstream(truncated, std::ios::binary) << good.substr(0, good.size() / 2);
  const std::string e = error_of(small_config(), "run", truncated.string());
  EXPECT_EQ(e.rfind(truncated.string(), 0), 0u) << e;

  const fs::path flipped = dir_ / "flipped.safetensors";
  std::string bad_header = good;
  bad_header[10] = '!';  // inside the JSON header
  std::ofstream(flipped, std::ios::binary) << bad_header;
  EXPECT_NE(error_of(small_config(), "run", flipped.string()).find(flipped.string()),
            std::string::npos);

  json other = small_config();
  other["model"] = {{"preset", "mlp"}, {"in_features", 784}, {"hidden", {32}}, {"num_classes", 10}};
  const std::string mismatch = error_of(other, "run", last.string());
  EXPECT_NE(mismatch.find("differs from the checkpoint's in model."), std::string::npos) << mismatch;
  EXPECT_EQ(read_file(last), good);  // the earlier checkpoint is intact
}

TEST_F(Run, DivergenceStopsAndKeepsTheLastGoodCheckpoint) {
  json wild = small_config();  // epoch 1 at lr 0.02, epoch 2 at 1e13 times that
  wild["scheduler"] = {{"type", "StepLR"}, {"step_size", 8}, {"gamma", 1e13}};
  const RunSummary s = train(wild, "run");
  EXPECT_EQ(s.end, RunEnd::diverged);
  EXPECT_NE(s.message.find("the loss became"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("lr 2e+11"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("optimizer.lr=0.002"), std::string::npos) << s.message;
  // last.safetensors is still the end of epoch 1, the last good state.
  const io::SafetensorsFile last = io::load_safetensors((dir_ / "run" / "last.safetensors").string());
  EXPECT_EQ(json::parse(last.metadata.at("progress")).at("step"), 8);
}

TEST_F(Run, StopRequestCheckpointsAndResumes) {
  std::atomic<bool> stop{true};  // as if Ctrl-C came during the first step
  const RunSummary s = train(small_config(), "run", "", &stop);
  EXPECT_EQ(s.end, RunEnd::interrupted);
  EXPECT_EQ(s.steps, 1);
  EXPECT_NE(s.message.find("--resume"), std::string::npos) << s.message;
  const RunSummary rest =
      train(small_config(), "run", (dir_ / "run" / "last.safetensors").string());
  EXPECT_EQ(rest.steps, 16);
  EXPECT_EQ(rest.first_step, 1);
  EXPECT_EQ(step_losses(dir_ / "run").size(), 16u);
}

TEST_F(Run, EarlyStoppingAfterPatienceEvaluations) {
  json frozen = small_config();
  frozen["epochs"] = 6;
  frozen["scheduler"] = nullptr;
  frozen["optimizer"]["lr"] = 0.0;  // nothing changes (no BatchNorm statistics either)
  frozen["model"] = {{"preset", "mlp"}, {"in_features", 784}, {"hidden", {32}}, {"num_classes", 10}};
  frozen["early_stopping"] = {{"patience", 2}};
  const RunSummary s = train(frozen, "run");
  EXPECT_EQ(s.end, RunEnd::early_stopped);
  EXPECT_EQ(s.epochs, 3);  // the first evaluation sets the best; two more do not beat it
  EXPECT_EQ(s.best_epoch, 1);

  // Each epoch record carries the wall time since training began, for time-to-accuracy.
  std::ifstream in(dir_ / "run" / "metrics.jsonl");
  std::vector<double> seconds;
  for (std::string line; std::getline(in, line);) {
    const json r = json::parse(line);
    if (r["kind"] == "epoch") seconds.push_back(r.at("seconds"));
  }
  ASSERT_EQ(seconds.size(), 3u);
  EXPECT_GT(seconds[0], 0);
  EXPECT_LT(seconds[0], seconds[1]);
  EXPECT_LT(seconds[1], seconds[2]);
  EXPECT_LE(seconds[2], s.seconds);
}

}  // namespace
}  // namespace danlu::train
