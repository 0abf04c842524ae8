// The host pool (engine/host_pool.h): a freed large block is handed out again
// for the same size, other sizes and small blocks are not, what it caches is
// counted and can be given back, and tensors go through it.
#include <gtest/gtest.h>

#include <cstdint>

#include "engine/host_memory.h"
#include "engine/host_pool.h"
#include "engine/tensor.h"

namespace danlu {
namespace {

constexpr size_t kLarge = size_t{1} << 20;

TEST(HostPool, AFreedLargeBlockIsReusedForTheSameSize) {
  host_pool_release_cached();
  void* a = host_pool_allocate(kLarge);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  host_pool_free(a, kLarge);
  EXPECT_EQ(host_pool_cached_bytes(), kLarge);
  void* other = host_pool_allocate(kLarge + 64);  // another size: a new block
  EXPECT_NE(other, a);
  EXPECT_EQ(host_pool_cached_bytes(), kLarge);
  void* again = host_pool_allocate(kLarge);
  EXPECT_EQ(again, a);
  EXPECT_EQ(host_pool_cached_bytes(), 0u);
  host_pool_free(again, kLarge);
  host_pool_free(other, kLarge + 64);
  EXPECT_EQ(host_pool_cached_bytes(), 2 * kLarge + 64);
  host_pool_release_cached();
  EXPECT_EQ(host_pool_cached_bytes(), 0u);
}

TEST(HostPool, SmallBlocksGoBackToTheCLibrary) {
  host_pool_release_cached();
  void* p = host_pool_allocate(4096);
  ASSERT_NE(p, nullptr);
  host_pool_free(p, 4096);
  EXPECT_EQ(host_pool_cached_bytes(), 0u);
}

// A step's tensors come back at the same addresses, and the pool's blocks
// are not counted as memory in use.
TEST(HostPool, TensorsOfAStepReuseTheLastStepsMemory) {
  host_pool_release_cached();
  const uint64_t in_use = host_memory_stats().in_use;
  const void* first = nullptr;
  {
    const Tensor t = Tensor::empty({128, 32, 28, 28});
    first = t.raw_data();
  }
  EXPECT_EQ(host_memory_stats().in_use, in_use);
  EXPECT_EQ(host_pool_cached_bytes(), 128u * 32 * 28 * 28 * 4);
  const Tensor again = Tensor::empty({128, 32, 28, 28});
  EXPECT_EQ(again.raw_data(), first);
  EXPECT_EQ(host_memory_stats().in_use, in_use + 128u * 32 * 28 * 28 * 4);
}

}  // namespace
}  // namespace danlu
