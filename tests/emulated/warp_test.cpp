// The emulator's warp collectives against the semantics the CUDA C++
// Programming Guide documents for them: shuffles within segments of `width`
// lanes, votes over the lanes of a mask, lanes that returned, and misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cuda/launch.cuh"
#include "tests/support/cuda_buffer.h"
#include "tests/support/error_of.h"

namespace danlu {
namespace {

using kernels::cuda::launch;
using testing::DeviceBuffer;
using testing::error_of;

constexpr unsigned kFull = 0xffffffffu;

enum Shuffle { kIdx, kUp, kDown, kXor };

// Every lane shuffles 100 + lane (as an int, a float and a double).
__global__ void shuffle(int kind, int arg, int width, int* out_int, float* out_float,
                        double* out_double) {
  const int lane = threadIdx.x % 32;
  const int v = 100 + lane;
  int i = 0;
  float f = 0;
  double d = 0;
  switch (kind) {
    case kIdx:
      i = __shfl_sync(kFull, v, arg, width);
      f = __shfl_sync(kFull, static_cast<float>(v), arg, width);
      d = __shfl_sync(kFull, static_cast<double>(v), arg, width);
      break;
    case kUp:
      i = __shfl_up_sync(kFull, v, arg, width);
      f = __shfl_up_sync(kFull, static_cast<float>(v), arg, width);
      d = __shfl_up_sync(kFull, static_cast<double>(v), arg, width);
      break;
    case kDown:
      i = __shfl_down_sync(kFull, v, arg, width);
      f = __shfl_down_sync(kFull, static_cast<float>(v), arg, width);
      d = __shfl_down_sync(kFull, static_cast<double>(v), arg, width);
      break;
    default:
      i = __shfl_xor_sync(kFull, v, arg, width);
      f = __shfl_xor_sync(kFull, static_cast<float>(v), arg, width);
      d = __shfl_xor_sync(kFull, static_cast<double>(v), arg, width);
  }
  out_int[threadIdx.x] = i;
  out_float[threadIdx.x] = f;
  out_double[threadIdx.x] = d;
}

// The lane each shuffle reads, as the Programming Guide words it: lanes form
// segments of `width`; idx reads srcLane modulo width in the own segment; up
// and down keep their own value when the source falls outside the segment;
// xor may read earlier segments but keeps its own value for later ones.
int documented_source(int kind, int lane, int arg, int width) {
  const int start = lane / width * width;
  switch (kind) {
    case kIdx: return start + arg % width;
    case kUp: return lane - arg >= start ? lane - arg : lane;
    case kDown: return lane + arg < start + width ? lane + arg : lane;
    default: return (lane ^ arg) / width > lane / width ? lane : lane ^ arg;
  }
}

TEST(EmulatedWarp, ShufflesMatchTheirDocumentedSemantics) {
  DANLU_REQUIRE_GPU();
  const int threads = 64;  // two warps: the second must behave like the first
  DeviceBuffer<int> out_int(threads);
  DeviceBuffer<float> out_float(threads);
  DeviceBuffer<double> out_double(threads);
  for (int kind : {kIdx, kUp, kDown, kXor})
    for (int width : {1, 2, 4, 8, 16, 32})
      for (int arg : {0, 1, 3, 5, 8, 13, 16, 31}) {
        launch("shuffle", shuffle, 1, threads, 0, nullptr, kind, arg, width, out_int.get(),
               out_float.get(), out_double.get());
        const std::vector<int> i = out_int.to_host();
        const std::vector<float> f = out_float.to_host();
        const std::vector<double> d = out_double.to_host();
        for (int t = 0; t < threads; ++t) {
          const int want = 100 + documented_source(kind, t % 32, arg, width);
          ASSERT_EQ(i[t], want) << "kind " << kind << " width " << width << " arg " << arg
                                << " thread " << t;
          ASSERT_EQ(f[t], static_cast<float>(want));
          ASSERT_EQ(d[t], static_cast<double>(want));
        }
      }
}

// Butterfly sum of each warp: every lane ends with the warp's total.
__global__ void warp_sum(const float* in, float* out) {
  float v = in[threadIdx.x];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFull, v, offset);
  out[threadIdx.x] = v;
}

TEST(EmulatedWarp, ButterflyReductionOverEachWarp) {
  DANLU_REQUIRE_GPU();
  std::vector<float> in(96);
  for (int i = 0; i < 96; ++i) in[i] = static_cast<float>(i);
  DeviceBuffer<float> d_in(in), out(96);
  launch("warp_sum", warp_sum, 1, 96, 0, nullptr, d_in.get(), out.get());
  const std::vector<float> got = out.to_host();
  for (int t = 0; t < 96; ++t) ASSERT_EQ(got[t], 496.0f + 1024.0f * (t / 32)) << t;
}

// The two half-warps vote separately, each over its own mask.
__global__ void votes(const int* pred, unsigned* out) {
  const int lane = threadIdx.x;
  const unsigned mask = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  const int p = pred[lane];
  out[3 * lane] = __ballot_sync(mask, p);
  out[3 * lane + 1] = __any_sync(mask, p);
  out[3 * lane + 2] = __all_sync(mask, p);
}

TEST(EmulatedWarp, VotesCoverTheLanesOfTheirMask) {
  DANLU_REQUIRE_GPU();
  std::vector<int> pred(32, 0);
  for (int lane = 0; lane < 16; ++lane) pred[lane] = lane % 3 == 0 ? 7 : 0;
  for (int lane = 16; lane < 32; ++lane) pred[lane] = 1;
  DeviceBuffer<int> d_pred(pred);
  DeviceBuffer<unsigned> out(96);
  launch("votes", votes, 1, 32, 0, nullptr, d_pred.get(), out.get());
  const std::vector<unsigned> got = out.to_host();
  const unsigned low_ballot = 0x9249u;  // lanes 0, 3, 6, 9, 12, 15
  for (int lane = 0; lane < 32; ++lane) {
    const bool low = lane < 16;
    EXPECT_EQ(got[3 * lane], low ? low_ballot : 0xffff0000u) << lane;
    EXPECT_EQ(got[3 * lane + 1], 1u) << lane;
    EXPECT_EQ(got[3 * lane + 2], low ? 0u : 1u) << lane;
  }
}

// Lanes 20-31 return; the rest shuffle down by 16 and vote with a full mask.
__global__ void after_early_return(float* out, unsigned* ballot) {
  const int lane = threadIdx.x;
  if (lane >= 20) return;
  out[lane] = __shfl_down_sync(kFull, static_cast<float>(lane), 16);
  ballot[lane] = __ballot_sync(kFull, 1);
}

TEST(EmulatedWarp, LanesThatReturnedAreNotAwaitedAndReadAsUndefined) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> out(20);
  DeviceBuffer<unsigned> ballot(20);
  launch("after_early_return", after_early_return, 1, 32, 0, nullptr, out.get(), ballot.get());
  const std::vector<float> got = out.to_host();
  for (int lane = 0; lane < 4; ++lane) EXPECT_EQ(got[lane], lane + 16.0f);
  for (int lane = 4; lane < 16; ++lane)  // their source lane returned
    EXPECT_TRUE(std::isnan(got[lane])) << lane << ": " << got[lane];
  for (int lane = 16; lane < 20; ++lane) EXPECT_EQ(got[lane], static_cast<float>(lane));
  EXPECT_EQ(ballot.to_host(), std::vector<unsigned>(20, 0x000fffffu));
}

// A block of 40 threads: its second warp has 8 lanes and reduces over them.
__global__ void partial_warp_sum(int* out) {
  const int lane = threadIdx.x % 32;
  const unsigned mask = threadIdx.x < 32 ? kFull : 0xffu;
  int v = lane;
  for (int offset = 1; offset < (threadIdx.x < 32 ? 32 : 8); offset *= 2)
    v += __shfl_xor_sync(mask, v, offset);
  out[threadIdx.x] = v;
}

TEST(EmulatedWarp, APartialLastWarp) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(40);
  launch("partial_warp_sum", partial_warp_sum, 1, 40, 0, nullptr, out.get());
  const std::vector<int> got = out.to_host();
  for (int t = 0; t < 40; ++t) EXPECT_EQ(got[t], t < 32 ? 496 : 28) << t;
}

// Lanes exchange through shared memory, ordered by __syncwarp.
__global__ void exchange_with_syncwarp(int* out) {
  __shared__ int slots[64];
  const int t = threadIdx.x;
  slots[t] = t;
  __syncwarp();
  out[t] = slots[t ^ 31];
}

TEST(EmulatedWarp, SyncwarpOrdersSharedMemory) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(64);
  launch("exchange", exchange_with_syncwarp, 1, 64, 0, nullptr, out.get());
  const std::vector<int> got = out.to_host();
  for (int t = 0; t < 64; ++t) EXPECT_EQ(got[t], t ^ 31);
}

__global__ void mask_without_caller(int* out) {
  out[threadIdx.x] = __shfl_sync(0x1u, 1, 0);  // lanes 1-31 are not in the mask
}

__global__ void bad_width(int* out) { out[threadIdx.x] = __shfl_xor_sync(kFull, 1, 1, 12); }

__global__ void shuffle_against_barrier(int* out) {
  if (threadIdx.x == 0)
    out[0] = __shfl_sync(kFull, 1, 0);
  else
    __syncthreads();
}

__global__ void mismatched_masks(int* out) {
  out[threadIdx.x] = __shfl_sync(threadIdx.x == 0 ? 0x3u : kFull, 1, 0);
}

__global__ void different_collectives(int* out) {
  if (threadIdx.x < 16)
    out[threadIdx.x] = __shfl_sync(kFull, 1, 0);
  else
    out[threadIdx.x] = static_cast<int>(__ballot_sync(kFull, 1));
}

TEST(EmulatedWarp, MisuseIsReportedWithTheKernelName) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<int> out(32);
  const auto error = [&](const char* name, void (*kernel)(int*)) {
    return error_of([&] { launch(name, kernel, 1, 32, 0, nullptr, out.get()); });
  };
  std::string m = error("mask_without_caller", mask_without_caller);
  EXPECT_NE(m.find("kernel mask_without_caller, block (0,0,0): thread ("), std::string::npos) << m;
  EXPECT_NE(m.find("): __shfl_sync at tests/emulated/warp_test.cpp:"), std::string::npos) << m;
  EXPECT_NE(m.find("with mask 0x00000001 does not name the calling lane"), std::string::npos) << m;

  m = error("bad_width", bad_width);
  EXPECT_NE(m.find("width 12 is not a power of two"), std::string::npos) << m;

  m = error("shuffle_against_barrier", shuffle_against_barrier);
  EXPECT_NE(m.find("deadlock: threads 0: wait at __shfl_sync(mask 0xffffffff)"),
            std::string::npos) << m;
  EXPECT_NE(m.find("threads 1-31: wait at __syncthreads()"), std::string::npos) << m;

  m = error("mismatched_masks", mismatched_masks);
  EXPECT_NE(m.find("deadlock: threads 0: wait at __shfl_sync(mask 0x00000003)"),
            std::string::npos) << m;
  EXPECT_NE(m.find("threads 1-31: wait at __shfl_sync(mask 0xffffffff)"), std::string::npos) << m;

  m = error("different_collectives", different_collectives);
  EXPECT_NE(m.find("the lanes of warp 0 meet at different warp collectives"), std::string::npos)
      << m;
  EXPECT_NE(m.find("lanes 0-15: wait at __shfl_sync"), std::string::npos) << m;
  EXPECT_NE(m.find("lanes 16-31: wait at __ballot_sync"), std::string::npos) << m;
}

}  // namespace
}  // namespace danlu
