// Step profiles on the CPU: every layer's forward and backward get their own
// row (a fused BatchNorm+ReLU is charged to the BatchNorm, a BasicBlock's
// convolutions to themselves), the rows add up to the step, nothing is
// recorded without a profiler, and measure_steps() times real training steps.
#include "train/step_profile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "engine/autograd.h"
#include "engine/ops/loss.h"
#include "layers/layers.h"
#include "train/measure.h"

namespace danlu::train {
namespace {

const ProfileRow* find_row(const StepProfile& p, const std::string& label, Pass pass) {
  for (const ProfileRow& r : p.rows)
    if (r.label == label && r.pass == pass) return &r;
  return nullptr;
}

std::shared_ptr<nn::Sequential> small_net() {
  manual_seed(0);
  auto net = std::make_shared<nn::Sequential>();
  net->push_back("stem", std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 4, 3).padding(1)));
  net->push_back("bn", std::make_shared<nn::BatchNorm2d>(4));
  net->push_back("relu", std::make_shared<nn::ReLU>());
  net->push_back("block", std::make_shared<nn::BasicBlock>(nn::BasicBlockOptions(4, 8).stride(2)));
  net->push_back("flat", std::make_shared<nn::Flatten>());
  net->push_back("fc", std::make_shared<nn::Linear>(8 * 4 * 4, 3));
  nn::fuse_batchnorm_relu(*net);
  return net;
}

// Two profiled forward+backward steps of small_net() on (2, 1, 8, 8).
StepProfile profile_small_net() {
  auto net = small_net();
  StepProfiler profiler(*net, Device::cpu(), 2);
  const Tensor x = Tensor::rand({2, 1, 8, 8});
  const Tensor y = Tensor::from_vector(std::vector<int64_t>{0, 2}, {2});
  const StepRecorderGuard installed(&profiler);
  for (int step = 0; step < 2; ++step) {
    profiler.begin_step();
    Tensor loss;
    {
      PhaseRange forward(Phase::forward);
      loss = cross_entropy((*net)(x), y);
    }
    {
      PhaseRange backward(Phase::backward);
      net->zero_grad();
      loss.backward();
    }
    profiler.end_step();
  }
  return profiler.result();
}

TEST(StepProfile, EveryLayerHasAForwardAndABackwardRow) {
  const StepProfile p = profile_small_net();
  EXPECT_EQ(p.steps, 2);
  for (const char* layer : {"stem (Conv2d)", "bn (BatchNorm2d)", "block.conv1 (Conv2d)",
                            "block.bn1 (BatchNorm2d)", "block.conv2 (Conv2d)",
                            "block.downsample.0 (Conv2d)", "fc (Linear)"}) {
    const ProfileRow* forward = find_row(p, layer, Pass::forward);
    const ProfileRow* backward = find_row(p, layer, Pass::backward);
    ASSERT_NE(forward, nullptr) << layer;
    ASSERT_NE(backward, nullptr) << layer;
    EXPECT_DOUBLE_EQ(forward->calls, 1.0) << layer;  // per step
    EXPECT_GE(backward->calls, 1.0) << layer;
    EXPECT_GT(forward->host_ms, 0) << layer;
  }
  // The ReLU after a BatchNorm runs fused inside it.
  EXPECT_EQ(find_row(p, "relu (ReLU)", Pass::forward), nullptr);
  // The block's own work (the residual add and its ReLU) is its self time.
  EXPECT_NE(find_row(p, "block (BasicBlock)", Pass::backward), nullptr);
  // The loss's node is charged to the forward phase's own row.
  EXPECT_NE(find_row(p, *phase_label(Phase::forward), Pass::backward), nullptr);
  EXPECT_EQ(p.device_step_ms, 0);  // no GPU events on the CPU
}

TEST(StepProfile, RowsAddUpToTheStepAndAreSorted) {
  const StepProfile p = profile_small_net();
  const double sum = std::accumulate(p.rows.begin(), p.rows.end(), 0.0,
                                     [](double s, const ProfileRow& r) { return s + r.host_ms; });
  EXPECT_NEAR(sum, p.step_ms, 1e-9 * p.step_ms + 1e-12);
  for (size_t i = 1; i < p.rows.size(); ++i) EXPECT_GE(p.rows[i - 1].host_ms, p.rows[i].host_ms);
  const std::string table = format_profile(p);
  EXPECT_NE(table.find("stem (Conv2d)"), std::string::npos) << table;
  EXPECT_NE(table.find("backward"), std::string::npos) << table;
  const nlohmann::json j = profile_json(p);
  EXPECT_EQ(j["steps"], 2);
  EXPECT_EQ(j["rows"].size(), p.rows.size());
  EXPECT_TRUE(j["rows"][0].contains("host_ms"));
  EXPECT_FALSE(j.contains("gpu_step_ms"));
}

TEST(StepProfile, ByLayerTypeSumsTheLayersOfEachType) {
  const StepProfile p = profile_small_net();
  double conv_backward = 0;
  for (const ProfileRow& r : p.rows)
    if (r.pass == Pass::backward && r.label.ends_with("(Conv2d)")) conv_backward += r.host_ms;
  const std::vector<ProfileRow> types = by_layer_type(p);
  const auto conv = std::find_if(types.begin(), types.end(), [](const ProfileRow& r) {
    return r.label == "Conv2d" && r.pass == Pass::backward;
  });
  ASSERT_NE(conv, types.end());
  EXPECT_DOUBLE_EQ(conv->calls, 4.0);  // stem, block.conv1, block.conv2, block.downsample.0
  EXPECT_NEAR(conv->host_ms, conv_backward, 1e-12);
  for (Phase phase : {Phase::forward, Phase::backward}) {  // a phase keeps its own label
    const auto row = std::find_if(types.begin(), types.end(), [phase](const ProfileRow& r) {
      return r.label == *phase_label(phase);
    });
    EXPECT_NE(row, types.end()) << *phase_label(phase);
  }
  EXPECT_EQ(profile_json(p)["by_layer_type"].size(), types.size());
}

TEST(StepProfile, NothingIsRecordedWithoutAProfiler) {
  auto net = small_net();
  const Tensor loss = cross_entropy((*net)(Tensor::rand({2, 1, 8, 8})),
                                    Tensor::from_vector(std::vector<int64_t>{0, 1}, {2}));
  EXPECT_EQ(step_recorder(), nullptr);
  EXPECT_EQ(current_layer_label(), nullptr);
  EXPECT_EQ(loss.grad_fn()->layer, nullptr);
}

TEST(StepProfile, MeasureStepsTimesRealTrainingSteps) {
  const TrainConfig config = parse_config(
      {{"model", {{"preset", "fashion_cnn"}}},
       {"data", {{"train_limit", 64}, {"test_limit", 16}, {"num_workers", 0}}},
       {"batch_size", 16},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}}}});
  // 4 batches per epoch: 2 + 5 steps run into a second epoch.
  const Measurement m = measure_steps(config, Device::cpu(), {2, 5, true});
  EXPECT_EQ(m.steps, 5);
  EXPECT_EQ(m.batch_size, 16);
  EXPECT_GT(m.seconds, 0);
  EXPECT_NEAR(m.images_per_s, 5 * 16 / m.seconds, 1e-9 * m.images_per_s);
  ASSERT_TRUE(m.profile.has_value());
  EXPECT_EQ(m.profile->steps, 5);
  const ProfileRow* data = find_row(*m.profile, *phase_label(Phase::data), Pass::other);
  ASSERT_NE(data, nullptr);
  EXPECT_DOUBLE_EQ(data->calls, 1.0);
  EXPECT_NE(find_row(*m.profile, *phase_label(Phase::optimizer), Pass::other), nullptr);
  EXPECT_NE(find_row(*m.profile, "0 (Conv2d)", Pass::backward), nullptr);

  const Measurement plain = measure_steps(config, Device::cpu(), {0, 1, false});
  EXPECT_FALSE(plain.profile.has_value());
  EXPECT_THROW(measure_steps(config, Device::cpu(), {0, 0, false}), Error);
}

}  // namespace
}  // namespace danlu::train
