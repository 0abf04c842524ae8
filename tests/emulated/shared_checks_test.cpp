// The shared-memory detectors (kernels/emulated/shared_checks.h), proven on
// planted bugs: a missing __syncthreads() or __syncwarp() is a race, reading
// shared memory that no thread of the block wrote (static or dynamic, or
// written only by an earlier block) is an uninitialised read. And correct
// kernels that use the usual patterns are not flagged: barriers, warp-shuffle
// reductions, atomics on shared memory, __syncwarp-ordered lanes, threads
// owning different bytes of one word.
#include <gtest/gtest.h>

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

#if defined(DANLU_EMULATOR_CHECKS)

constexpr unsigned kFull = 0xffffffffu;

// Everyone writes its slot, waits, then writes it again and reads its right
// neighbour's without waiting: thread 0 reads slot 1 before thread 1
// rewrites it.
__global__ void missing_barrier(int* out) {
  __shared__ int slots[64];
  const int t = threadIdx.x;
  slots[t] = -1;
  __syncthreads();
  slots[t] = t;
  // the bug: __syncthreads() belongs here
  out[t] = slots[(t + 1) % blockDim.x];
}

// A tree reduction whose loop lost its barrier.
__global__ void reduction_without_barrier(const float* in, float* out) {
  __shared__ float partial[128];
  const int t = threadIdx.x;
  partial[t] = in[t];
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (t < stride) partial[t] += partial[t + stride];
    // the bug: no __syncthreads() before the next level reads these sums
  }
  if (t == 0) *out = partial[0];
}

// Lane 0 of each warp publishes a value its other lanes read.
__global__ void lane_zero_publishes(int* out, bool with_syncwarp) {
  __shared__ int value[2];
  const int t = threadIdx.x, warp = t / 32;
  if (t % 32 == 0) value[warp] = 100 + warp;
  if (with_syncwarp) __syncwarp(kFull);
  out[t] = value[warp];
}

// __syncwarp orders the lanes of one warp only: warp 1 reads what warp 0 wrote.
__global__ void syncwarp_across_warps(int* out) {
  __shared__ int value;
  if (threadIdx.x == 0) value = 7;
  __syncwarp(kFull);
  if (threadIdx.x == 32) *out = value;
}

// Only the even threads write; everyone reads its own slot after the barrier.
__global__ void half_written(float* out) {
  __shared__ float tile[64];
  const int t = threadIdx.x;
  if (t % 2 == 0) tile[t] = 1.0f;
  __syncthreads();
  out[t] = tile[t];
}

__global__ void half_written_dynamic(float* out) {
  DANLU_DYNAMIC_SHARED(float, tile);
  const int t = threadIdx.x;
  if (t != 5) tile[t] = 1.0f;
  __syncthreads();
  out[t] = tile[t];
}

// Block 0 fills the table; later blocks rely on it still being there, as
// they would (by luck) when static shared memory kept the last block's values.
__global__ void reuse_previous_block(int* out) {
  __shared__ int table[32];
  if (blockIdx.x == 0) table[threadIdx.x] = static_cast<int>(threadIdx.x) * 3;
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = table[threadIdx.x];
}

// A counter that nobody zeroed.
__global__ void count_without_zeroing(int* out) {
  __shared__ int count;
  atomicAdd(&count, 1);
  __syncthreads();
  if (threadIdx.x == 0) *out = count;
}

// The correct patterns.

// Warp sums with shuffles, one slot per warp, then warp 0 sums the slots:
// the shape of every block reduction in kernels/cuda.
__global__ void shuffle_block_sum(const float* in, float* out) {
  __shared__ float warp_sums[32];
  const int t = threadIdx.x, lane = t % 32, warp = t / 32;
  float v = in[blockIdx.x * blockDim.x + t];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFull, v, offset);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int warps = blockDim.x / 32;
    v = lane < warps ? warp_sums[lane] : 0.0f;
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(kFull, v, offset);
    if (lane == 0) out[blockIdx.x] = v;
  }
}

// A histogram in shared memory: zeroed, barrier, atomics from every thread,
// barrier, copied out. The atomics of one interval are not races.
__global__ void shared_histogram(const int* in, int* out) {
  __shared__ int bins[8];
  const int t = threadIdx.x;
  if (t < 8) bins[t] = 0;
  __syncthreads();
  atomicAdd(&bins[in[blockIdx.x * blockDim.x + t] % 8], 1);
  __syncthreads();
  if (t < 8) atomicAdd(&out[t], bins[t]);
}

// A warp-synchronous scan through shared memory, each step fenced by
// __syncwarp: read, sync, write, sync (as the CUDA programming guide's
// example of independent thread scheduling).
__global__ void syncwarp_scan(int* out) {
  __shared__ int s[32];
  const int lane = threadIdx.x;
  s[lane] = 1;
  __syncwarp(kFull);
  for (int offset = 1; offset < 32; offset *= 2) {
    const int add = lane >= offset ? s[lane - offset] : 0;
    __syncwarp(kFull);
    s[lane] += add;
    __syncwarp(kFull);
  }
  out[lane] = s[lane];
}

// Every block fills and reads its own tile: no block depends on another.
__global__ void per_block_tiles(int* out) {
  __shared__ int tile[64];
  DANLU_DYNAMIC_SHARED(int, extra);
  const int t = threadIdx.x;
  tile[t] = static_cast<int>(blockIdx.x) + t;
  extra[t] = 2 * t;
  __syncthreads();
  out[blockIdx.x * blockDim.x + t] = tile[(t + 1) % blockDim.x] + extra[blockDim.x - 1 - t];
}

// Each thread owns one byte: four threads share each word of `flags`.
__global__ void byte_flags(int* out) {
  __shared__ char flags[64];
  const int t = threadIdx.x;
  flags[t] = static_cast<char>(t % 3 == 0);
  __syncthreads();
  out[t] = flags[63 - t];
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(EmulatedSharedChecks, AMissingBarrierIsARace) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(64);
  const std::string message = error_of(
      [&] { launch("missing_barrier", missing_barrier, 1, 64, 0, nullptr, out.get()); });
  EXPECT_TRUE(contains(message, "kernel missing_barrier, block (0,0,0)")) << message;
  EXPECT_TRUE(contains(message, "race on shared memory: thread 0 read byte 4 of __shared__ `slots` "
                                "of danlu::(anonymous namespace)::missing_barrier(int*) and "
                                "thread 1 wrote it with no __syncthreads() between"))
      << message;
}

TEST(EmulatedSharedChecks, AReductionWithoutItsBarrierIsARace) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> in(std::vector<float>(128, 1.0f)), out(1);
  const std::string message = error_of([&] {
    launch("reduction_without_barrier", reduction_without_barrier, 1, 128, 0, nullptr, in.get(),
           out.get());
  });
  EXPECT_TRUE(contains(message, "kernel reduction_without_barrier, block (0,0,0)")) << message;
  EXPECT_TRUE(contains(message, "race on shared memory")) << message;
  EXPECT_TRUE(contains(message, "`partial`")) << message;
}

TEST(EmulatedSharedChecks, AMissingSyncwarpIsARace) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(64);
  const std::string message = error_of([&] {
    launch("lane_zero_publishes", lane_zero_publishes, 1, 64, 0, nullptr, out.get(), false);
  });
  EXPECT_TRUE(contains(message, "race on shared memory: thread 0 wrote byte 0 of __shared__ "
                                "`value`"))
      << message;
  EXPECT_TRUE(contains(message, "thread 1 read it")) << message;
}

TEST(EmulatedSharedChecks, SyncwarpOrdersTheLanesOfOneWarp) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(64);
  launch("lane_zero_publishes", lane_zero_publishes, 1, 64, 0, nullptr, out.get(), true);
  const std::vector<int> got = out.to_host();
  for (int t = 0; t < 64; ++t) EXPECT_EQ(got[t], 100 + t / 32);
}

TEST(EmulatedSharedChecks, SyncwarpDoesNotOrderOtherWarps) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(1);
  const std::string message = error_of(
      [&] { launch("syncwarp_across_warps", syncwarp_across_warps, 1, 64, 0, nullptr, out.get()); });
  EXPECT_TRUE(contains(message, "race on shared memory: thread 0 wrote")) << message;
  EXPECT_TRUE(contains(message, "thread 32 read it")) << message;
}

TEST(EmulatedSharedChecks, ReadingUnwrittenStaticSharedMemoryIsCaught) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> out(64);
  const std::string message =
      error_of([&] { launch("half_written", half_written, 1, 64, 0, nullptr, out.get()); });
  EXPECT_TRUE(contains(message, "kernel half_written, block (0,0,0)")) << message;
  EXPECT_TRUE(contains(message, "uninitialised shared memory: thread 1 read byte 4 of __shared__ "
                                "`tile`"))
      << message;
  EXPECT_TRUE(contains(message, "which no thread of this block has written")) << message;
}

TEST(EmulatedSharedChecks, ReadingUnwrittenDynamicSharedMemoryIsCaught) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> out(8);
  const std::string message = error_of([&] {
    launch("half_written_dynamic", half_written_dynamic, 1, 8, 8 * sizeof(float), nullptr,
           out.get());
  });
  EXPECT_TRUE(contains(message, "uninitialised shared memory: thread 5 read byte offset 20 of "
                                "dynamic shared memory"))
      << message;
}

TEST(EmulatedSharedChecks, SharedMemoryDoesNotCarryOverFromThePreviousBlock) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(2 * 32);
  const std::string message = error_of(
      [&] { launch("reuse_previous_block", reuse_previous_block, 2, 32, 0, nullptr, out.get()); });
  EXPECT_TRUE(contains(message, "kernel reuse_previous_block, block (1,0,0)")) << message;
  EXPECT_TRUE(contains(message, "uninitialised shared memory: thread 0 read byte 0 of __shared__ "
                                "`table`"))
      << message;
}

TEST(EmulatedSharedChecks, AnAtomicOnUnwrittenSharedMemoryIsCaught) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(1);
  const std::string message = error_of(
      [&] { launch("count_without_zeroing", count_without_zeroing, 1, 32, 0, nullptr, out.get()); });
  EXPECT_TRUE(contains(message, "uninitialised shared memory: thread 0 read byte 0 of __shared__ "
                                "`count`"))
      << message;
  EXPECT_TRUE(contains(message, "in an atomic operation")) << message;
}

TEST(EmulatedSharedChecks, CorrectKernelsAreNotFlagged) {
  DANLU_REQUIRE_GPU();
  const int blocks = 3, threads = 256;
  std::vector<float> values(blocks * threads);
  std::vector<int> keys(blocks * threads);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(i % 7);
    keys[i] = static_cast<int>(i * 5 % 13);
  }
  DeviceBuffer<float> d_values(values), sums(blocks);
  launch("shuffle_block_sum", shuffle_block_sum, blocks, threads, 0, nullptr, d_values.get(),
         sums.get());
  for (int b = 0; b < blocks; ++b) {
    float want = 0;
    for (int t = 0; t < threads; ++t) want += values[b * threads + t];
    EXPECT_EQ(sums.to_host()[b], want) << "block " << b;
  }

  DeviceBuffer<int> d_keys(keys), bins(std::vector<int>(8, 0));
  launch("shared_histogram", shared_histogram, blocks, threads, 0, nullptr, d_keys.get(),
         bins.get());
  std::vector<int> want_bins(8, 0);
  for (int k : keys) ++want_bins[k % 8];
  EXPECT_EQ(bins.to_host(), want_bins);

  DeviceBuffer<int> scan(32);
  launch("syncwarp_scan", syncwarp_scan, 1, 32, 0, nullptr, scan.get());
  for (int lane = 0; lane < 32; ++lane) EXPECT_EQ(scan.to_host()[lane], lane + 1);

  DeviceBuffer<int> flags(64);
  launch("byte_flags", byte_flags, 1, 64, 0, nullptr, flags.get());
  for (int t = 0; t < 64; ++t) EXPECT_EQ(flags.to_host()[t], (63 - t) % 3 == 0);

  DeviceBuffer<int> tiles(blocks * 64);
  launch("per_block_tiles", per_block_tiles, blocks, 64, 64 * sizeof(int), nullptr, tiles.get());
  const std::vector<int> got = tiles.to_host();
  for (int b = 0; b < blocks; ++b)
    for (int t = 0; t < 64; ++t)
      ASSERT_EQ(got[b * 64 + t], b + (t + 1) % 64 + 2 * (63 - t)) << "block " << b << " thread " << t;
}

#else

TEST(EmulatedSharedChecks, NeedsTheDetectors) {
  GTEST_SKIP() << "the shared-memory detectors are compiled in with DANLU_EMULATOR_CHECKS (the "
                  "emulated preset); this build has them off";
}

#endif

}  // namespace
}  // namespace danlu
