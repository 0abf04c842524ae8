// Host tensors are counted: in use, peak, and a cap that turns an allocation
// past it into danlu::OutOfMemory with nothing leaked from the count.
#include <gtest/gtest.h>

#include "engine/error.h"
#include "engine/host_memory.h"
#include "engine/tensor.h"
#include "tests/support/error_of.h"

namespace danlu {
namespace {

TEST(HostMemory, TensorsAreCountedWhileTheyLiveAndThePeakRemembersThem) {
  const uint64_t before = host_memory_stats().in_use;
  reset_host_peak_memory();
  {
    const Tensor t = Tensor::empty({1000});  // 4000 bytes of f32
    EXPECT_EQ(host_memory_stats().in_use, before + 4000);
  }
  EXPECT_EQ(host_memory_stats().in_use, before);
  EXPECT_GE(host_memory_stats().peak, before + 4000);
  reset_host_peak_memory();
  EXPECT_EQ(host_memory_stats().peak, before);
  EXPECT_GT(host_memory_stats().total, uint64_t{1} << 20);
}

TEST(HostMemory, AnAllocationPastTheCapIsOutOfMemoryAndLeavesTheCountAsItWas) {
  const uint64_t before = host_memory_stats().in_use;
  set_host_memory_limit(before + 1000);
  EXPECT_THROW(Tensor::empty({1000}), OutOfMemory);
  const std::string e = testing::error_of([] { Tensor::empty({1000}); });
  EXPECT_NE(e.find("allocating 4000 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("passes the cap"), std::string::npos) << e;
  EXPECT_EQ(host_memory_stats().in_use, before);
  EXPECT_NO_THROW(Tensor::empty({250}));  // exactly at the cap
  set_host_memory_limit(0);
  EXPECT_NO_THROW(Tensor::empty({1000}));
}

}  // namespace
}  // namespace danlu
