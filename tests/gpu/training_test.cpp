// The whole training loop on a GPU: the fashion_cnn preset trained for a few
// steps on real Fashion-MNIST through every GPU path at once (DataLoader
// prefetch, conv, fused BN+ReLU, pooling, cuBLAS linear, fused cross-entropy,
// the multi-tensor SGD update, evaluation, checkpoints) against the same run
// on the CPU.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/io/safetensors.h"
#include "engine/sync_check.h"
#include "engine/tensor.h"
#include "tests/support/cuda_buffer.h"
#include "train/config.h"
#include "tests/support/metrics.h"
#include "train/trainer.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::step_losses;

TEST(GpuTraining, AFewStepsMatchTheCpu) {
  DANLU_REQUIRE_GPU();
  const fs::path dir = fs::temp_directory_path() / ("danlu_gpu_train_" + std::to_string(::getpid()));
  const TrainConfig config = parse_config(
      {{"data", {{"train_limit", 24}, {"test_limit", 16}, {"num_workers", 1}}},
       {"batch_size", 8},
       {"eval_batch_size", 8},
       {"epochs", 1},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}, {"weight_decay", 5e-4}}},
       {"log_every", 1}});
  RunOptions on_cpu{(dir / "cpu").string(), "", false, nullptr};
  RunOptions on_gpu{(dir / "gpu").string(), "", false, nullptr};
  const RunSummary cpu = run_training(config, Device::cpu(), on_cpu);
  const RunSummary gpu = run_training(config, Device::cuda(0), on_gpu);
  EXPECT_EQ(gpu.end, RunEnd::finished) << gpu.message;
  EXPECT_EQ(gpu.steps, 3);
  EXPECT_GT(gpu.peak_memory_bytes, 0u);

  const std::vector<double> a = step_losses(dir / "cpu"), b = step_losses(dir / "gpu");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  // f32 sums in another order each step; after two updates the losses still
  // agree to a few parts in 10^4.
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i], 2e-4 + 2e-3 * std::abs(a[i])) << i;
  EXPECT_NEAR(gpu.final_loss, cpu.final_loss, 1e-2 * std::abs(cpu.final_loss));
  EXPECT_TRUE(fs::exists(dir / "gpu" / "last.safetensors"));
  fs::remove_all(dir);
}

// On a GPU the losses are read back only at log steps, yet a run that blows
// up reports the step whose loss first went non-finite, as the CPU (which
// reads every step) does, with that step's learning rate.
TEST(GpuTraining, DivergenceIsReportedAtItsStepThoughReadLater) {
  DANLU_REQUIRE_GPU();
  const fs::path dir = fs::temp_directory_path() / ("danlu_gpu_nan_" + std::to_string(::getpid()));
  const TrainConfig config =
      parse_config({{"data", {{"train_limit", 64}, {"test_limit", 8}, {"num_workers", 0}}},
                    {"batch_size", 8},
                    {"eval_batch_size", 8},
                    {"epochs", 1},
                    {"optimizer", {{"type", "SGD"}, {"lr", 1e30}}},
                    {"log_every", 8}});
  const RunSummary cpu = run_training(config, Device::cpu(), {(dir / "cpu").string(), "", false, nullptr});
  const RunSummary gpu = run_training(config, Device::cuda(0), {(dir / "gpu").string(), "", false, nullptr});
  ASSERT_EQ(cpu.end, RunEnd::diverged) << cpu.message;
  ASSERT_EQ(gpu.end, RunEnd::diverged) << gpu.message;
  EXPECT_LT(cpu.steps, 8);  // the CPU stopped at the step itself
  EXPECT_EQ(gpu.steps, 8);  // the GPU trained on to the log step that read it
  const std::string at = "at step " + std::to_string(cpu.steps) + " ";
  EXPECT_NE(gpu.message.find(at), std::string::npos) << gpu.message << "\n" << cpu.message;
  EXPECT_NE(gpu.message.find("lr 1e+30"), std::string::npos) << gpu.message;
  fs::remove_all(dir);
}

// A steady-state step (engine/sync_check.h) queues its work and returns: no
// call that makes the host wait for the GPU, with BatchNorm's counter, the
// on-device gradient clipping, the fused update and the batch prefetch all
// in play. DANLU_SYNC_CHECK=1 writes each step's count to metrics.jsonl.
// Both ways a step runs: replayed from a CUDA Graph (from step 3) and op by op.
TEST(GpuTraining, SteadyStateStepsMakeNoBlockingCall) {
  DANLU_REQUIRE_GPU();
  for (const bool graph : {true, false}) {
  SCOPED_TRACE(graph ? "cuda_graph" : "op by op");
  const fs::path dir = fs::temp_directory_path() / ("danlu_gpu_sync_" + std::to_string(::getpid()));
  const TrainConfig config = parse_config(
      {{"data", {{"train_limit", 80}, {"test_limit", 8}, {"num_workers", 1}}},
       {"batch_size", 8},
       {"eval_batch_size", 8},
       {"epochs", 1},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}}},
       {"clip_grad_norm", 1.0},
       {"label_smoothing", 0.1},
       {"log_every", 5},
       {"cuda_graph", graph}});
  ::setenv("DANLU_SYNC_CHECK", "1", 1);
  const RunSummary gpu = run_training(config, Device::cuda(0), {dir.string(), "", false, nullptr});
  ::unsetenv("DANLU_SYNC_CHECK");
  ASSERT_EQ(gpu.end, RunEnd::finished) << gpu.message;

  std::ifstream metrics(dir / "metrics.jsonl");
  std::string line;
  std::vector<int64_t> steady_steps;
  json summary;
  while (std::getline(metrics, line)) {
    const json record = json::parse(line);
    if (record["kind"] == "summary") summary = record;
    if (record["kind"] != "sync_check") continue;
    if (record["steady"].get<bool>()) {
      steady_steps.push_back(record["step"].get<int64_t>());
      EXPECT_EQ(record["blocking_calls"].get<int64_t>(), 0) << "step " << record["step"];
      // A replayed step launches the graph, the clipping and the update and
      // copies its outputs; op by op, the Fashion CNN alone is 40-odd kernels.
      const int64_t launches = record["launches"].get<int64_t>();
      if (graph && record["step"] > 3) {
        EXPECT_LE(launches, 8) << "step " << record["step"];
      } else if (!graph) {
        EXPECT_GE(launches, 30) << "step " << record["step"];
      }
    }
  }
  // Steps 1-2 warm up; 5 and 10 log (10 also ends the epoch).
  EXPECT_EQ(steady_steps, (std::vector<int64_t>{3, 4, 6, 7, 8, 9}));
  EXPECT_EQ(summary["sync_check"]["steady_blocking_calls"], 0);
  if (graph) {
    EXPECT_EQ(summary["cuda_graph"]["replays"], 7) << summary.dump();
  }
  fs::remove_all(dir);
  }
}

// DANLU_TRANSPORT=nccl with one rank sends every gradient bucket through
// NCCL (train/nccl_communicator.h; the emulated NCCL in the emulated build).
// The sum over one rank and the mean's factor 1 change no bit, and the
// reductions on NCCL's stream add no blocking call to a steady-state step.
TEST(GpuTraining, OneRankOverNcclMatchesAndMakesNoBlockingCall) {
#ifndef DANLU_WITH_NCCL
  GTEST_SKIP() << "danlu was built without NCCL";
#endif
  DANLU_REQUIRE_GPU();
  const fs::path dir = fs::temp_directory_path() / ("danlu_gpu_nccl_" + std::to_string(::getpid()));
  const TrainConfig config = parse_config(
      {{"data", {{"train_limit", 48}, {"test_limit", 8}, {"num_workers", 1}}},
       {"batch_size", 8},
       {"eval_batch_size", 8},
       {"epochs", 1},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}}},
       {"log_every", 3}});  // 6 steps: 1-2 warm up, 3 and 6 log, 4-5 are steady
  const RunSummary plain = run_training(config, Device::cuda(0), {(dir / "plain").string(), "", false, nullptr});
  ::setenv("DANLU_TRANSPORT", "nccl", 1);
  ::setenv("DANLU_SYNC_CHECK", "1", 1);
  ::testing::internal::CaptureStdout();
  const RunSummary nccl = run_training(config, Device::cuda(0), {(dir / "nccl").string(), "", false, nullptr});
  const std::string printed = ::testing::internal::GetCapturedStdout();
  ::unsetenv("DANLU_SYNC_CHECK");
  EXPECT_NE(printed.find("data parallel: 1 rank, gradients averaged over NCCL in buckets of 4 MB"),
            std::string::npos) << printed;
  ::unsetenv("DANLU_TRANSPORT");
  ASSERT_EQ(plain.end, RunEnd::finished) << plain.message;
  ASSERT_EQ(nccl.end, RunEnd::finished) << nccl.message;
  EXPECT_EQ(step_losses(dir / "nccl"), step_losses(dir / "plain"));
  EXPECT_EQ(nccl.final_loss, plain.final_loss);

  std::ifstream metrics(dir / "nccl" / "metrics.jsonl");
  std::string line;
  int64_t steady = 0;
  while (std::getline(metrics, line)) {
    const json record = json::parse(line);
    if (record["kind"] != "sync_check" || !record["steady"].get<bool>()) continue;
    ++steady;
    EXPECT_EQ(record["blocking_calls"].get<int64_t>(), 0) << "step " << record["step"];
  }
  EXPECT_EQ(steady, 2);
  fs::remove_all(dir);
}

// `user` trained op by op (in dir/eager) and with its steps replayed from a
// CUDA Graph (dir/graph), and what the second run printed.
struct BothWays {
  RunSummary eager, graphed;
  std::string printed;
};
BothWays run_both_ways(json user, const fs::path& dir) {
  BothWays out;
  user["cuda_graph"] = false;
  out.eager = run_training(parse_config(user), Device::cuda(0),
                           {(dir / "eager").string(), "", false, nullptr});
  user["cuda_graph"] = true;
  ::testing::internal::CaptureStdout();
  out.graphed = run_training(parse_config(user), Device::cuda(0),
                             {(dir / "graph").string(), "", false, nullptr});
  out.printed = ::testing::internal::GetCapturedStdout();
  return out;
}

// A step captured into a CUDA Graph and replayed (train/step_graph.h) gives
// the bits of the same step run op by op, over 50 steps with every part
// that keeps host state or draws random numbers: BatchNorm's counters and
// running statistics, dropout's Philox stream, a per-step scheduler, clipping
// on the device and SGD's momentum; the monitored steps (10, 20, ...) run op
// by op in between replays, and an evaluation runs between the two epochs.
TEST(GpuTraining, CapturedStepsMatchOpByOpStepsBitForBit) {
  DANLU_REQUIRE_GPU();
  const fs::path dir = fs::temp_directory_path() / ("danlu_gpu_graph_" + std::to_string(::getpid()));
  const json model = {
      {"layers",
       {{{"type", "Conv2d"}, {"in_channels", 1}, {"out_channels", 4}, {"kernel_size", 3},
         {"padding", 1}, {"bias", false}},
        {{"type", "BatchNorm2d"}, {"num_features", 4}},
        {{"type", "ReLU"}},
        {{"type", "MaxPool2d"}, {"kernel_size", 4}},
        {{"type", "Flatten"}},
        {{"type", "Dropout"}, {"p", 0.25}},
        {{"type", "Linear"}, {"in_features", 196}, {"out_features", 10}}}}};
  json user = {{"model", model},
               {"data", {{"train_limit", 200}, {"test_limit", 8}, {"num_workers", 1}}},
               {"batch_size", 8},
               {"eval_batch_size", 8},
               {"epochs", 2},
               {"optimizer", {{"type", "SGD"}, {"lr", 0.05}, {"momentum", 0.9},
                              {"nesterov", true}, {"weight_decay", 5e-4}}},
               {"scheduler", {{"type", "CosineAnnealingLR"}, {"T_max", 60}}},
               {"clip_grad_norm", 1.0},
               {"label_smoothing", 0.1},
               {"monitor", {{"every", 10}}},
               {"log_every", 1}};
  const auto [eager, graphed, printed] = run_both_ways(user, dir);
  ASSERT_EQ(eager.end, RunEnd::finished) << eager.message;
  ASSERT_EQ(graphed.end, RunEnd::finished) << graphed.message;
  EXPECT_NE(printed.find("CUDA graph: step 3 captured"), std::string::npos) << printed;

  const std::vector<double> a = step_losses(dir / "eager"), b = step_losses(dir / "graph");
  ASSERT_EQ(a.size(), 50u);
  EXPECT_EQ(b, a);
  const io::SafetensorsFile wa = io::load_safetensors((dir / "eager" / "last.safetensors").string());
  const io::SafetensorsFile wb = io::load_safetensors((dir / "graph" / "last.safetensors").string());
  ASSERT_EQ(wa.tensors.size(), wb.tensors.size());
  for (size_t i = 0; i < wa.tensors.size(); ++i) {
    EXPECT_EQ(wa.tensors[i].first, wb.tensors[i].first);
    EXPECT_EQ(wa.tensors[i].second.to_vector(), wb.tensors[i].second.to_vector())
        << wa.tensors[i].first;
  }
  std::ifstream metrics(dir / "graph" / "metrics.jsonl");
  json summary;
  for (std::string line; std::getline(metrics, line);)
    if (json record = json::parse(line); record["kind"] == "summary") summary = record;
  // 50 steps: 1-2 warm up, 3 is captured, 10, 20, ..., 50 are monitored;
  // the other 42 replay.
  EXPECT_EQ(summary["cuda_graph"]["captures"], 1) << summary.dump();
  EXPECT_EQ(summary["cuda_graph"]["replays"], 42) << summary.dump();
  EXPECT_EQ(summary["cuda_graph"]["off"], "");
  fs::remove_all(dir);
}

// A step that cannot be captured (here a BatchNorm with momentum=None) turns
// the graph off with the reason, and the run trains op by op as before.
TEST(GpuTraining, AStepThatCannotBeCapturedRunsOpByOpAndSaysWhy) {
  DANLU_REQUIRE_GPU();
  const fs::path dir = fs::temp_directory_path() / ("danlu_gpu_nograph_" + std::to_string(::getpid()));
  const json model = {
      {"layers",
       {{{"type", "Conv2d"}, {"in_channels", 1}, {"out_channels", 2}, {"kernel_size", 3}},
        {{"type", "BatchNorm2d"}, {"num_features", 2}, {"momentum", nullptr}},
        {{"type", "ReLU"}},
        {{"type", "Flatten"}},
        {{"type", "Linear"}, {"in_features", 1352}, {"out_features", 10}}}}};
  json user = {{"model", model},
               {"data", {{"train_limit", 40}, {"test_limit", 8}, {"num_workers", 0}}},
               {"batch_size", 8},
               {"eval_batch_size", 8},
               {"epochs", 1},
               {"log_every", 1}};
  const auto [eager, refused, printed] = run_both_ways(user, dir);
  ASSERT_EQ(refused.end, RunEnd::finished) << refused.message;
  EXPECT_NE(printed.find("CUDA graph: off from step 3: BatchNorm2d has momentum=None"),
            std::string::npos)
      << printed;
  EXPECT_EQ(step_losses(dir / "graph"), step_losses(dir / "eager"));  // the counter undone
  fs::remove_all(dir);
}

// The count sees a read-back: a GPU tensor copied to the host waits for the
// GPU, so the test above could fail.
TEST(GpuTraining, AReadBackIsABlockingCall) {
  DANLU_REQUIRE_GPU();
  const Tensor x = Tensor::ones({4}, TensorOptions().device(Device::cuda(0)));
  const int64_t before = blocking_cuda_calls();
  EXPECT_EQ(x.to(Device::cpu()).data<float>()[3], 1.0f);
  EXPECT_GT(blocking_cuda_calls(), before);
}

}  // namespace
}  // namespace danlu::train
