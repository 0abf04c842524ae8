// The emulator's atomics: every thread of many blocks updates the same words,
// with barriers in between so that the updates of different threads
// interleave, and each call must return the value it replaced.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <thread>
#include <vector>

#include "kernels/cuda/launch.cuh"
#include "tests/support/cuda_buffer.h"

namespace danlu {
namespace {

using kernels::cuda::launch;
using testing::DeviceBuffer;

constexpr int kBlocks = 12, kThreads = 96, kRounds = 4;
constexpr int kUpdates = kBlocks * kThreads * kRounds;

// counters: [0] int add, [1] unsigned add, [2] max, [3] min, [4] CAS-made add,
// [5] wrapping inc; tickets: the old value of each int add.
__global__ void contend(int* counters, unsigned* unsigned_counter, float* float_sum,
                        unsigned long long* wide, int* tickets) {
  const int id = blockIdx.x * blockDim.x + threadIdx.x;
  for (int round = 0; round < kRounds; ++round) {
    tickets[id * kRounds + round] = atomicAdd(&counters[0], 1);
    atomicAdd(unsigned_counter, 2u);
    atomicAdd(float_sum, 0.5f);
    atomicAdd(wide, 1ull << 33);
    atomicMax(&counters[2], id - 500);
    atomicMin(&counters[3], 500 - id);
    int seen = counters[4];
    while (true) {  // an add built from compare-and-swap, as kernels do for floats
      const int old = atomicCAS(&counters[4], seen, seen + 3);
      if (old == seen) break;
      seen = old;
    }
    atomicInc(reinterpret_cast<unsigned*>(&counters[5]), 9u);
    __syncthreads();
  }
}

TEST(EmulatedAtomics, UpdatesUnderContention) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> counters(std::vector<int>{0, 0, -1000000, 1000000, 0, 0});
  DeviceBuffer<unsigned> unsigned_counter(1);
  DeviceBuffer<float> float_sum(1);
  DeviceBuffer<unsigned long long> wide(1);
  DeviceBuffer<int> tickets(kUpdates);
  launch("contend", contend, kBlocks, kThreads, 0, nullptr, counters.get(), unsigned_counter.get(),
         float_sum.get(), wide.get(), tickets.get());
  const std::vector<int> c = counters.to_host();
  const int last = kBlocks * kThreads - 1;
  EXPECT_EQ(c[0], kUpdates);
  EXPECT_EQ(unsigned_counter.to_host()[0], 2u * kUpdates);
  EXPECT_EQ(float_sum.to_host()[0], 0.5f * kUpdates);  // exact: small multiples of 0.5
  EXPECT_EQ(wide.to_host()[0], static_cast<unsigned long long>(kUpdates) << 33);
  EXPECT_EQ(c[2], last - 500);
  EXPECT_EQ(c[3], 500 - last);
  EXPECT_EQ(c[4], 3 * kUpdates);
  EXPECT_EQ(c[5], kUpdates % 10);  // counts 0..9, then wraps to 0
  // Every add returned a distinct old value: the tickets are 0..kUpdates-1.
  std::vector<int> t = tickets.to_host();
  std::sort(t.begin(), t.end());
  std::vector<int> want(kUpdates);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(t, want);
}

__global__ void exchange_and_bits(int* word, unsigned* bits, float* f, int* olds) {
  olds[threadIdx.x] = atomicExch(word, static_cast<int>(threadIdx.x));
  atomicOr(&bits[0], 1u << threadIdx.x);
  atomicAnd(&bits[1], ~(1u << threadIdx.x));
  atomicXor(&bits[2], 1u << (threadIdx.x % 4));
  atomicSub(reinterpret_cast<int*>(&bits[3]), 1);
  atomicExch(f, 2.5f);
}

TEST(EmulatedAtomics, ExchangeAndBitwiseUpdates) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> word(std::vector<int>{-7});
  DeviceBuffer<unsigned> bits(std::vector<unsigned>{0u, 0xffffffffu, 0u, 100u});
  DeviceBuffer<float> f(1);
  DeviceBuffer<int> olds(32);
  launch("exchange_and_bits", exchange_and_bits, 1, 32, 0, nullptr, word.get(), bits.get(), f.get(),
         olds.get());
  // The exchanges form one chain: the values returned plus the final value
  // are the initial value and every thread's index, each exactly once.
  std::vector<int> seen = olds.to_host();
  seen.push_back(word.to_host()[0]);
  std::sort(seen.begin(), seen.end());
  std::vector<int> want(33);
  std::iota(want.begin(), want.end(), -1);
  want[0] = -7;
  EXPECT_EQ(seen, want);
  EXPECT_EQ(bits.to_host(), (std::vector<unsigned>{0xffffffffu, 0u, 0u, 68u}));
  EXPECT_EQ(f.to_host()[0], 2.5f);
}

__global__ void add_ones(int* counter) { atomicAdd(counter, 1); }

// Launches from several host threads are serialised, never interleaved.
TEST(EmulatedAtomics, LaunchesFromSeveralHostThreads) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> counter(1);
  std::vector<std::thread> hosts;
  for (int h = 0; h < 4; ++h)
    hosts.emplace_back([&] {
      for (int i = 0; i < 5; ++i) launch("add_ones", add_ones, 8, 64, 0, nullptr, counter.get());
    });
  for (std::thread& h : hosts) h.join();
  EXPECT_EQ(counter.to_host()[0], 4 * 5 * 8 * 64);
}

}  // namespace
}  // namespace danlu
