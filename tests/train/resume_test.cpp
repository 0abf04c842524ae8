// --resume continues only what it can continue exactly: a changed config key
// that would make another run is refused by name, a setting the checkpoint's
// state would override is refused with the way to get it, the allowed keys
// are reported, impossible positions and flipped weight bytes are refused,
// and a finished run says so without touching its metrics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "tests/support/metrics.h"
#include "train/resume_check.h"
#include "train/trainer.h"
#include "tests/support/files.h"

namespace danlu::train {
namespace {

using danlu::testing::read_file;

namespace fs = std::filesystem;
using nlohmann::json;

// 256 training images in batches of 64: 4 steps per epoch; max_steps 6 stops inside epoch 2.
json small_config() {
  return {{"model", {{"preset", "mlp"}, {"in_features", 784}, {"hidden", {16}}, {"num_classes", 10}}},
          {"data", {{"train_limit", 256}, {"test_limit", 64}, {"num_workers", 0}}},
          {"batch_size", 64},
          {"epochs", 2},
          {"max_steps", 6},
          {"optimizer", {{"type", "SGD"}, {"lr", 0.02}, {"momentum", 0.9}}},
          {"log_every", 1}};
}

class Resume : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("danlu_resume_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    RunOptions o;
    o.run_dir = (dir_ / "run").string();
    run_training(parse_config(small_config()), Device::cpu(), o);
    last_ = dir_ / "run" / "last.safetensors";
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunSummary resume(const json& user, const fs::path& from) {
    RunOptions o;
    o.run_dir = (dir_ / "run").string();
    o.resume = from.string();
    return run_training(parse_config(user), Device::cpu(), o);
  }
  std::string error_of(const json& user, const fs::path& from) {
    try {
      resume(user, from);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
  // A copy of the checkpoint with one metadata entry's JSON changed.
  fs::path with_meta(const std::string& key, const json& value) {
    io::SafetensorsFile f = io::load_safetensors(last_.string());
    f.metadata[key] = value.dump();
    const fs::path out = dir_ / ("edited_" + key + ".safetensors");
    io::save_safetensors(out.string(), f.tensors, f.metadata, /*checksum=*/true);
    return out;
  }
  json progress() const {
    return json::parse(io::load_safetensors(last_.string()).metadata.at("progress"));
  }
  fs::path dir_, last_;
};

TEST_F(Resume, ChangesThatMakeAnotherRunAreRefusedByName) {
  json other = small_config();
  other["batch_size"] = 32;
  other["seed"] = 7;
  other["data"]["train_limit"] = 128;
  other["data"]["augmentation"] = {{"horizontal_flip", true}};
  const std::string before = read_file(last_), metrics = read_file(dir_ / "run" / "metrics.jsonl");
  const std::string e = error_of(other, last_);
  for (const char* key : {"batch_size 64 -> 32", "seed 0 -> 7", "data.train_limit 256 -> 128",
                          "data.augmentation.horizontal_flip false -> true"})
    EXPECT_NE(e.find(key), std::string::npos) << key << " in " << e;
  EXPECT_EQ(e.rfind(last_.string(), 0), 0u) << e;
  EXPECT_EQ(read_file(last_), before);
  EXPECT_EQ(read_file(dir_ / "run" / "metrics.jsonl"), metrics);

  json model = small_config();
  model["model"]["hidden"] = {32};
  EXPECT_NE(error_of(model, last_).find("model.hidden [16] -> [32]"), std::string::npos);
  json optimizer = small_config();
  optimizer["optimizer"] = {{"type", "Adam"}, {"lr", 0.001}};
  EXPECT_NE(error_of(optimizer, last_).find("optimizer.type \"SGD\" -> \"Adam\""),
            std::string::npos);
}

TEST_F(Resume, SettingsTheCheckpointOverridesAreRefusedWithTheWayToGetThem) {
  json lr = small_config();
  lr["optimizer"]["lr"] = 0.1;
  const std::string e = error_of(lr, last_);
  EXPECT_NE(e.find("optimizer.lr 0.02 -> 0.1 would be ignored on resume"), std::string::npos) << e;
  EXPECT_NE(e.find("--set pretrained=" + last_.string()), std::string::npos) << e;
}

TEST_F(Resume, AllowedChangesContinueAndAreReported) {
  json longer = small_config();
  longer["epochs"] = 3;
  longer["max_steps"] = 0;
  longer["log_every"] = 2;
  const std::vector<std::string> changes =
      check_resume_config(parse_config(small_config()).json, parse_config(longer).json, "ckpt");
  EXPECT_EQ(changes, (std::vector<std::string>{"epochs 2 -> 3", "log_every 1 -> 2",
                                               "max_steps 6 -> 0"}));
  const RunSummary s = resume(longer, last_);
  EXPECT_EQ(s.first_step, 6);
  EXPECT_EQ(s.steps, 12);
}

TEST_F(Resume, AFinishedRunSaysSoAndWritesNothing) {
  json done = small_config();
  done["max_steps"] = 0;
  done["epochs"] = 1;  // the checkpoint is at step 6, past epoch 1
  const std::string metrics = read_file(dir_ / "run" / "metrics.jsonl");
  const std::string e = error_of(done, last_);
  EXPECT_NE(e.find("the run is finished"), std::string::npos) << e;
  EXPECT_NE(e.find("--set epochs="), std::string::npos) << e;
  EXPECT_EQ(read_file(dir_ / "run" / "metrics.jsonl"), metrics);  // no second summary
  EXPECT_NE(error_of(small_config(), last_).find("the run is finished"), std::string::npos);
}

TEST_F(Resume, ImpossiblePositionsAreRefused) {
  // Through a resume: the metadata's types and the RNG.
  const json good = progress();
  ASSERT_EQ(good.at("step"), 6);
  for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{
           {"epoch", 1e12}, {"step", "6"}, {"batch", nullptr}}) {
    json p = good;
    p[key] = value;
    const std::string e = error_of(small_config(), with_meta("progress", p));
    EXPECT_NE(e.find("damaged checkpoint (progress"), std::string::npos) << key << ": " << e;
  }
  const std::string rng = error_of(small_config(),
                                   with_meta("rng", {{"seed", 0}, {"offset", uint64_t(1) << 63}}));
  EXPECT_NE(rng.find("damaged checkpoint (rng"), std::string::npos) << rng;

  // Each range, against 4 steps per epoch of 64 images (step 6: epoch 1, batch 2).
  const Progress ok{6, 1, 2, 1.5, 10, 128, 0.5, 1, 0};
  EXPECT_NO_THROW(check_resume_progress(ok, 4, 64, "ckpt"));
  auto refused = [](Progress p) {
    try {
      check_resume_progress(p, 4, 64, "ckpt");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Progress p = ok;
  p.step = -1;
  EXPECT_NE(refused(p).find("progress step = -1: negative"), std::string::npos) << refused(p);
  p = ok, p.step = 7;
  EXPECT_NE(refused(p).find("does not match step 7"), std::string::npos) << refused(p);
  p = ok, p.epoch = 1000000000000LL;
  EXPECT_NE(refused(p).find("progress epoch = 1000000000000"), std::string::npos) << refused(p);
  p = ok, p.epoch = INT64_MAX;
  EXPECT_NE(refused(p).find("progress epoch"), std::string::npos) << refused(p);
  p = ok, p.batch = 4;
  EXPECT_NE(refused(p).find("outside an epoch of 4 batches"), std::string::npos) << refused(p);
  p = ok, p.epoch_seen = 1 << 20;
  EXPECT_NE(refused(p).find("epoch_seen"), std::string::npos) << refused(p);
  p = ok, p.epoch_correct = -3;
  EXPECT_NE(refused(p).find("epoch_correct"), std::string::npos) << refused(p);
  p = ok, p.best_epoch = 9;
  EXPECT_NE(refused(p).find("best_epoch"), std::string::npos) << refused(p);
  p = ok, p.epoch_loss_sum = -1;
  EXPECT_NE(refused(p).find("epoch_loss_sum"), std::string::npos) << refused(p);
  p = ok, p.evals_without_improvement = 7;
  EXPECT_NE(refused(p).find("evals_without_improvement"), std::string::npos) << refused(p);
}

TEST_F(Resume, FlippedWeightBytesAreRefusedByTheChecksum) {
  std::string bytes = read_file(last_);
  bytes[bytes.size() - 100] ^= 0x10;  // inside the tensor data, not the header
  const fs::path flipped = dir_ / "flipped.safetensors";
  std::ofstream(flipped, std::ios::binary) << bytes;
  const std::string e = error_of(small_config(), flipped);
  EXPECT_NE(e.find("does not match its checksum"), std::string::npos) << e;
  EXPECT_EQ(e.rfind(flipped.string(), 0), 0u) << e;
}

}  // namespace
}  // namespace danlu::train
