// Step profiles on a GPU: timing events at every scope change give each
// row its GPU time, and the rows add up to the step's GPU time; the profile
// counts the step's kernel launches and blocking calls.
#include <gtest/gtest.h>

#include "tests/support/cuda_buffer.h"
#include "train/measure.h"

namespace danlu::train {
namespace {

TEST(GpuStepProfile, RowsCarryGpuTimeThatAddsUpToTheStep) {
  DANLU_REQUIRE_GPU();
  const TrainConfig config = parse_config(
      {{"data", {{"train_limit", 32}, {"test_limit", 8}, {"num_workers", 0}}},
       {"batch_size", 8},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}}}});
  const Measurement m = measure_steps(config, Device::cuda(0), {1, 2, true});
  ASSERT_TRUE(m.profile.has_value());
  const StepProfile& p = *m.profile;
  EXPECT_EQ(p.device, "cuda:0");
  EXPECT_GT(p.device_step_ms, 0);
  double sum = 0;
  bool conv_backward_timed = false;
  for (const ProfileRow& r : p.rows) {
    EXPECT_GE(r.device_ms, 0) << r.label;
    sum += r.device_ms;
    if (r.label == "0 (Conv2d)" && r.pass == Pass::backward) conv_backward_timed = r.device_ms > 0;
  }
  EXPECT_TRUE(conv_backward_timed);
  EXPECT_NEAR(sum, p.device_step_ms, 1e-6 * p.device_step_ms);
  for (size_t i = 1; i < p.rows.size(); ++i) EXPECT_GE(p.rows[i - 1].device_ms, p.rows[i].device_ms);
  // The Fashion CNN's step launches dozens of kernels and, with its
  // BatchNorm counter on the host, never makes the host wait.
  EXPECT_GT(p.launches_per_step, 20);
  EXPECT_EQ(p.blocking_calls_per_step, 0);
  const std::string table = format_profile(p);
  EXPECT_NE(table.find("GPU ms"), std::string::npos) << table;
  EXPECT_NE(table.find("0.0 blocking CUDA calls per step"), std::string::npos) << table;
  EXPECT_EQ(profile_json(p)["blocking_calls_per_step"], 0.0);
}

}  // namespace
}  // namespace danlu::train
