// The health monitor's reductions on a GPU: the step worked out by hand in
// tests/support/monitor_case.h gives the same statistics as on the CPU, and a
// short fashion_cnn run (BatchNorm+ReLU unfused at its monitored steps)
// records what the same run records on the CPU.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/cuda_buffer.h"
#include "tests/support/monitor_case.h"
#include "train/trainer.h"

namespace danlu {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(GpuMonitor, MatchesATinyStepWorkedOutByHand) {
  DANLU_REQUIRE_GPU();
  testing::expect_health_near(testing::monitored_tiny_step(Device::cuda(0)),
                              testing::tiny_step_by_hand());
}

std::vector<json> monitor_records(const fs::path& run) {
  std::vector<json> out;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);)
    if (json r = json::parse(line); r["kind"] == "monitor") out.push_back(r);
  return out;
}

TEST(GpuMonitor, ATrainingRunRecordsWhatTheCpuRecords) {
  DANLU_REQUIRE_GPU();
  const fs::path dir = fs::temp_directory_path() / ("danlu_gpu_monitor_" + std::to_string(::getpid()));
  const train::TrainConfig config = train::parse_config(
      {{"data", {{"train_limit", 16}, {"test_limit", 8}, {"num_workers", 0}}},
       {"batch_size", 8},
       {"eval_batch_size", 8},
       {"epochs", 1},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}}},
       {"monitor", {{"every", 1}}},
       {"allow_tf32", false}});  // the CPU's FP32 convolutions, not TF32's
  train::run_training(config, Device::cpu(), {(dir / "cpu").string(), "", false, nullptr});
  train::run_training(config, Device::cuda(0), {(dir / "gpu").string(), "", false, nullptr});
  const std::vector<json> cpu = monitor_records(dir / "cpu"), gpu = monitor_records(dir / "gpu");
  ASSERT_EQ(cpu.size(), 2u);
  ASSERT_EQ(gpu.size(), 2u);
  // f32 sums in another order, and by step 2 one update apart: parts in 10^3.
  for (size_t s = 0; s < cpu.size(); ++s)
    for (size_t l = 0; l < cpu[s]["layers"].size(); ++l)
      for (const char* key : {"act_mean", "act_std", "dead_fraction", "grad_norm", "weight_norm",
                              "update_ratio"}) {
        const json &a = cpu[s]["layers"][l][key], &b = gpu[s]["layers"][l][key];
        const std::string what = "step " + std::to_string(s + 1) + " layer " +
                                 cpu[s]["layers"][l]["layer"].get<std::string>() + " " + key;
        ASSERT_EQ(a.is_null(), b.is_null()) << what;
        if (a.is_null()) continue;
        EXPECT_NEAR(b.get<double>(), a.get<double>(), 1e-5 + 2e-3 * std::abs(a.get<double>())) << what;
      }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace danlu
