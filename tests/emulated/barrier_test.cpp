// The emulator's block semantics: __syncthreads and shared memory, the index
// built-ins, dynamic shared memory, per-thread argument copies, and the
// misuse it reports (deadlocks, launch configurations a GPU rejects).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cuda/launch.cuh"
#include "tests/support/cuda_buffer.h"
#include "tests/support/error_of.h"

namespace danlu {
namespace {

using kernels::cuda::launch;
using testing::DeviceBuffer;
using testing::error_of;

// Each thread reads the slot its right neighbour wrote before the barrier.
__global__ void rotate_through_shared(int* out, bool with_barrier) {
  __shared__ int slots[256];
  const int t = threadIdx.x;
  slots[t] = 1000 * blockIdx.x + t;
  if (with_barrier) __syncthreads();
  out[blockIdx.x * blockDim.x + t] = slots[(t + 1) % blockDim.x];
}

TEST(EmulatedBarrier, SharedWritesAreVisibleAfterTheBarrier) {
  DANLU_REQUIRE_GPU();
  const int blocks = 3, threads = 200;
  DeviceBuffer<int> out(blocks * threads);
  launch("rotate", rotate_through_shared, blocks, threads, 0, nullptr, out.get(), true);
  const std::vector<int> got = out.to_host();
  for (int b = 0; b < blocks; ++b)
    for (int t = 0; t < threads; ++t)
      ASSERT_EQ(got[b * threads + t], 1000 * b + (t + 1) % threads) << "block " << b << " thread " << t;
}

// Threads run one at a time until they block, so without the barrier some
// thread reads its neighbour's slot before the neighbour writes it (in thread
// order, every thread but the last; in reverse order, the last): a missing
// barrier shows up as stale data instead of passing by luck.
// With the shared-memory detectors the launch fails instead
// (shared_checks_test.cpp has the messages).
TEST(EmulatedBarrier, AMissingBarrierShowsUp) {
  DANLU_REQUIRE_GPU();
  const int blocks = 2, threads = 64;
  DeviceBuffer<int> out(blocks * threads);
#if defined(DANLU_EMULATOR_CHECKS)
  const std::string message = error_of([&] {
    launch("rotate", rotate_through_shared, blocks, threads, 0, nullptr, out.get(), false);
  });
  EXPECT_NE(message.find("kernel rotate, block (0,0,0): "), std::string::npos) << message;
  EXPECT_NE(message.find(" shared memory"), std::string::npos) << message;
  return;
#endif
  launch("rotate", rotate_through_shared, blocks, threads, 0, nullptr, out.get(), false);
  const std::vector<int> got = out.to_host();
  int stale = 0;
  for (int t = 0; t < threads; ++t) stale += got[threads + t] != 1000 + (t + 1) % threads;
  EXPECT_GT(stale, 0);
}

// A tree reduction: log2(blockDim) barriers, inside a loop.
__global__ void block_sum(const int* in, int* out) {
  __shared__ int partial[128];
  const int t = threadIdx.x;
  partial[t] = in[blockIdx.x * blockDim.x + t];
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (t < half) partial[t] += partial[t + half];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = partial[0];
}

TEST(EmulatedBarrier, BarriersInsideALoop) {
  DANLU_REQUIRE_GPU();
  const int blocks = 5, threads = 128;
  std::vector<int> in(blocks * threads);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i % 7) - 3;
  DeviceBuffer<int> d_in(in), out(blocks);
  launch("block_sum", block_sum, blocks, threads, 0, nullptr, d_in.get(), out.get());
  const std::vector<int> got = out.to_host();
  for (int b = 0; b < blocks; ++b) {
    int want = 0;
    for (int t = 0; t < threads; ++t) want += in[b * threads + t];
    EXPECT_EQ(got[b], want) << "block " << b;
  }
}

__global__ void count_and_or(const int* flags, int* out) {
  const int f = flags[threadIdx.x];
  const int count = __syncthreads_count(f);
  const int all = __syncthreads_and(f);
  const int any = __syncthreads_or(f);
  if (threadIdx.x == 0) {
    out[0] = count;
    out[1] = all;
    out[2] = any;
  }
}

TEST(EmulatedBarrier, CountAndOrVariants) {
  DANLU_REQUIRE_GPU();
  const auto run = [](const std::vector<int>& flags) {
    DeviceBuffer<int> d_flags(flags), out(3);
    launch("count_and_or", count_and_or, 1, static_cast<unsigned>(flags.size()), 0, nullptr,
           d_flags.get(), out.get());
    return out.to_host();
  };
  std::vector<int> some(70, 0);
  some[3] = some[40] = 5;
  EXPECT_EQ(run(some), (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(run(std::vector<int>(70, 1)), (std::vector<int>{70, 1, 1}));
  EXPECT_EQ(run(std::vector<int>(70, 0)), (std::vector<int>{0, 0, 0}));
}

__global__ void record_indices(uint3* out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned i = block * blockDim.x * blockDim.y * blockDim.z + thread;
  out[3 * i] = threadIdx;
  out[3 * i + 1] = blockIdx;
  out[3 * i + 2] = uint3{blockDim.x * 100 + gridDim.x, blockDim.y * 100 + gridDim.y,
                         blockDim.z * 100 + gridDim.z};
}

TEST(EmulatedBarrier, IndexBuiltinsInThreeDimensions) {
  DANLU_REQUIRE_GPU();
  const dim3 grid(3, 2, 2), block(5, 3, 2);
  const int n = 3 * 2 * 2 * 5 * 3 * 2;
  DeviceBuffer<uint3> out(3 * n);
  launch("record_indices", record_indices, grid, block, 0, nullptr, out.get());
  const std::vector<uint3> got = out.to_host();
  int i = 0;
  for (unsigned bz = 0; bz < 2; ++bz)
    for (unsigned by = 0; by < 2; ++by)
      for (unsigned bx = 0; bx < 3; ++bx)
        for (unsigned tz = 0; tz < 2; ++tz)
          for (unsigned ty = 0; ty < 3; ++ty)
            for (unsigned tx = 0; tx < 5; ++tx, ++i) {
              const uint3 t = got[3 * i], b = got[3 * i + 1], d = got[3 * i + 2];
              ASSERT_TRUE(t.x == tx && t.y == ty && t.z == tz) << i;
              ASSERT_TRUE(b.x == bx && b.y == by && b.z == bz) << i;
              ASSERT_TRUE(d.x == 503 && d.y == 302 && d.z == 202) << i;
            }
}

// Reverses each block's slice through dynamic shared memory.
__global__ void reverse_in_block(const float* in, float* out) {
  DANLU_DYNAMIC_SHARED(float, tile);
  const int t = threadIdx.x, n = blockDim.x;
  tile[t] = in[blockIdx.x * n + t];
  __syncthreads();
  out[blockIdx.x * n + t] = tile[n - 1 - t];
}

TEST(EmulatedBarrier, DynamicSharedMemory) {
  DANLU_REQUIRE_GPU();
  const int blocks = 4, threads = 33;
  std::vector<float> in(blocks * threads);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  DeviceBuffer<float> d_in(in), out(in.size());
  launch("reverse", reverse_in_block, blocks, threads, threads * sizeof(float), nullptr,
         d_in.get(), out.get());
  const std::vector<float> got = out.to_host();
  for (int b = 0; b < blocks; ++b)
    for (int t = 0; t < threads; ++t)
      ASSERT_EQ(got[b * threads + t], in[b * threads + threads - 1 - t]);
}

__global__ void read_unwritten_shared(float* out) {
  DANLU_DYNAMIC_SHARED(float, tile);
  if (blockIdx.x == 0) tile[threadIdx.x] = 1.0f;  // block 1 must not see this
  out[blockIdx.x * blockDim.x + threadIdx.x] = tile[threadIdx.x];
}

TEST(EmulatedBarrier, EachBlockStartsWithGarbageDynamicSharedMemory) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> out(2 * 8);
#if defined(DANLU_EMULATOR_CHECKS)  // the read is reported before it returns garbage
  const std::string message = error_of([&] {
    launch("read_unwritten", read_unwritten_shared, 2, 8, 8 * sizeof(float), nullptr, out.get());
  });
  EXPECT_NE(message.find("kernel read_unwritten, block (1,0,0): uninitialised "
                         "shared memory: thread 0 read byte offset 0 of dynamic shared memory"),
            std::string::npos)
      << message;
  return;
#endif
  launch("read_unwritten", read_unwritten_shared, 2, 8, 8 * sizeof(float), nullptr, out.get());
  const std::vector<float> got = out.to_host();
  for (int t = 0; t < 8; ++t) {
    EXPECT_EQ(got[t], 1.0f);
    EXPECT_TRUE(std::isnan(got[8 + t])) << "unwritten shared memory reads as NaN";
  }
}

// Each GPU thread gets its own copy of the arguments.
__global__ void count_down(int n, int* out) {
  while (n > 0) --n;
  out[threadIdx.x] = n + static_cast<int>(threadIdx.x);
}

TEST(EmulatedBarrier, ArgumentsAreCopiedPerThread) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(4);
  launch("count_down", count_down, 1, 4, 0, nullptr, 10, out.get());
  EXPECT_EQ(out.to_host(), (std::vector<int>{0, 1, 2, 3}));
}

__global__ void return_before_barrier(int* out, int stop) {
  if (static_cast<int>(threadIdx.x) >= stop) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void two_barriers(int* out) {
  if (threadIdx.x < 32)
    __syncthreads();
  else
    __syncthreads();
  out[threadIdx.x] = 1;
}

TEST(EmulatedBarrier, ABarrierSomeThreadsSkipIsADeadlock) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(64);
  const std::string message = error_of([&] {
    launch("return_before_barrier", return_before_barrier, 2, 64, 0, nullptr, out.get(), 40);
  });
  EXPECT_NE(message.find("kernel return_before_barrier, block (0,0,0): deadlock"),
            std::string::npos) << message;
  EXPECT_NE(message.find("threads 0-39: wait at __syncthreads() (tests/emulated/barrier_test.cpp:"),
            std::string::npos) << message;
  EXPECT_NE(message.find("threads 40-63: returned"), std::string::npos) << message;

  // The emulator recovers: the next launch runs normally.
  launch("return_before_barrier", return_before_barrier, 2, 64, 0, nullptr, out.get(), 64);
  EXPECT_EQ(out.to_host(), std::vector<int>(64, 1));
}

TEST(EmulatedBarrier, DifferentBarrierCallsAreReported) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(64);
  const std::string message =
      error_of([&] { launch("two_barriers", two_barriers, 1, 64, 0, nullptr, out.get()); });
  EXPECT_NE(message.find("kernel two_barriers, block (0,0,0): threads wait at different "
                         "__syncthreads() calls"),
            std::string::npos) << message;
  EXPECT_NE(message.find("threads 0-31: wait"), std::string::npos) << message;
  EXPECT_NE(message.find("threads 32-63: wait"), std::string::npos) << message;
}

__global__ void write_one(int* out) { out[threadIdx.x] = 1; }

TEST(EmulatedBarrier, LaunchConfigurationsAGpuRejects) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(2048);
  const auto config_error = [&](dim3 grid, dim3 block) {
    return error_of([&] { launch("write_one", write_one, grid, block, 0, nullptr, out.get()); });
  };
  EXPECT_NE(config_error(1, 1025).find("kernel write_one: invalid configuration"),
            std::string::npos);
  EXPECT_NE(config_error(1, dim3(32, 32, 2)).find("at most 1024 threads"), std::string::npos);
  EXPECT_NE(config_error(1, dim3(1, 1, 65)).find("invalid configuration"), std::string::npos);
  EXPECT_NE(config_error(dim3(1, 65536), 1).find("invalid configuration"), std::string::npos);
  EXPECT_EQ(config_error(dim3(1, 65535), 1), "");
  EXPECT_EQ(config_error(1, 1024), "");
}

__global__ void touch_shared(float* out) {
  DANLU_DYNAMIC_SHARED(float, tile);
  tile[threadIdx.x] = 2.0f;
  out[threadIdx.x] = tile[threadIdx.x];
}

TEST(EmulatedBarrier, DynamicSharedMemoryAboveTheLimit) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> out(32);
  const size_t default_limit = 48 * 1024;
  EXPECT_EQ(error_of([&] {
              launch("touch_shared", touch_shared, 1, 32, default_limit, nullptr, out.get());
            }),
            "");
  const std::string message = error_of([&] {
    launch("touch_shared", touch_shared, 1, 32, default_limit + 1, nullptr, out.get());
  });
  EXPECT_NE(message.find("kernel touch_shared: asks for 49153 bytes of dynamic shared memory"),
            std::string::npos) << message;

  // Opting in raises the kernel's limit, up to the device's maximum.
  DANLU_CUDA_CHECK(cudaFuncSetAttribute(touch_shared, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        100 * 1024));
  launch("touch_shared", touch_shared, 1, 32, 100 * 1024, nullptr, out.get());
  EXPECT_EQ(out.to_host(), std::vector<float>(32, 2.0f));
  EXPECT_EQ(cudaFuncSetAttribute(touch_shared, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 228 * 1024),
            cudaErrorInvalidValue);
  cudaGetLastError();
}

}  // namespace
}  // namespace danlu
