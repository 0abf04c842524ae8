// The health monitor's reductions on a GPU: the step worked out by hand in
// tests/support/monitor_case.h gives the same statistics as on the CPU.
#include <gtest/gtest.h>

#include "tests/support/cuda_buffer.h"
#include "tests/support/monitor_case.h"

namespace danlu {
namespace {

TEST(GpuMonitor, MatchesATinyStepWorkedOutByHand) {
  DANLU_REQUIRE_GPU();
  testing::expect_health_near(testing::monitored_tiny_step(Device::cuda(0)),
                              testing::tiny_step_by_hand());
}

}  // namespace
}  // namespace danlu
