// cp.async as the emulator models it (kernels/emulated/async_copy.h): a
// 3-stage pipeline streams tiles through shared memory correctly, zfill pads
// with zeros, 4-byte copies gather from any float offset; and the bugs such
// code invites are reported: reading a copy's destination before the wait
// that lands it, reading another thread's copy without the __syncthreads()
// after the wait, a misaligned or out-of-range copy.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "kernels/cuda/launch.cuh"
#include "tests/emulated/async_copy_kernels.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/error_of.h"

namespace danlu {
namespace {

using kernels::cuda::launch;
using testing::DeviceBuffer;
using testing::error_of;

// Distinct, exactly representable values.
std::vector<float> ramp(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 1000) * 0.5f - 7.0f;
  return v;
}

// Column sums of each 4 x 64 tile, in the order the kernel writes them.
std::vector<float> column_sums(const std::vector<float>& in, int tiles_total) {
  const int tile_floats = testing::kTileRows * testing::kTileCols;
  std::vector<float> out(static_cast<size_t>(tiles_total) * testing::kTileCols, 0.0f);
  for (int i = 0; i < tiles_total; ++i)
    for (int r = 0; r < testing::kTileRows; ++r)
      for (int c = 0; c < testing::kTileCols; ++c)
        out[static_cast<size_t>(i) * testing::kTileCols + c] +=
            in[static_cast<size_t>(i) * tile_floats + r * testing::kTileCols + c];
  return out;
}

// Tile counts below, at and above the stage count, two blocks each. The sums
// of four multiples of 0.5 are exact in any order.
TEST(EmulatedAsyncCopy, PipelineStreamsTilesThroughStages) {
  DANLU_REQUIRE_GPU();
  for (int tiles : {1, 3, 7}) {
    const int blocks = 2;
    const std::vector<float> in =
        ramp(static_cast<size_t>(blocks) * tiles * testing::kTileRows * testing::kTileCols);
    DeviceBuffer<float> d_in(in), d_out(static_cast<size_t>(blocks) * tiles * testing::kTileCols);
    launch("pipelined_column_sums", testing::pipelined_column_sums, blocks,
           testing::kPipelineThreads, 0, nullptr, d_in.get(), d_out.get(), tiles,
           static_cast<int>(testing::kCorrectPipeline));
    EXPECT_EQ(d_out.to_host(), column_sums(in, blocks * tiles)) << tiles << " tiles";
  }
}

// Compares bit patterns: a partial float copy may not be a number.
std::vector<uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<uint32_t> out(v.size());
  std::memcpy(out.data(), v.data(), v.size() * sizeof(float));
  return out;
}

TEST(EmulatedAsyncCopy, ZeroFillReadsSourceBytesAndPadsTheRest) {
  DANLU_REQUIRE_GPU();
  const std::vector<float> in = ramp(128);
  DeviceBuffer<float> d_in(in), out16(128), out4(32);
  launch("zero_fill", testing::zero_fill, 1, 32, 0, nullptr, d_in.get(), out16.get(), out4.get());
  std::vector<unsigned char> want16(128 * sizeof(float), 0);
  std::vector<float> want4(32, 0.0f);
  for (int t = 0; t < 32; ++t) {
    const int from = (t + 1) % 32;  // each thread wrote out its neighbour's staging
    std::memcpy(&want16[16 * t], &in[4 * from], from % 17);
    if (from % 2 == 0) want4[t] = in[7 * from % 128];
  }
  std::vector<float> want16_floats(128);
  std::memcpy(want16_floats.data(), want16.data(), want16.size());
  EXPECT_EQ(bits_of(out16.to_host()), bits_of(want16_floats));
  EXPECT_EQ(bits_of(out4.to_host()), bits_of(want4));
}

TEST(EmulatedAsyncCopy, FourByteCopiesGatherFromAnyOffset) {
  DANLU_REQUIRE_GPU();
  const std::vector<float> in = ramp(200);
  const int n = 45;
  std::vector<int> index(n);
  for (int t = 0; t < n; ++t) index[t] = (t * 37 + 3) % 200;  // odd offsets: not 16-byte aligned
  DeviceBuffer<float> d_in(in), d_out(n);
  DeviceBuffer<int> d_index(index);
  launch("gather_floats", testing::gather_floats, 1, 64, 0, nullptr, d_in.get(), d_index.get(),
         d_out.get(), n);
  std::vector<float> want(n);
  for (int t = 0; t < n; ++t) want[t] = in[index[n - 1 - t]];
  EXPECT_EQ(d_out.to_host(), want);
}

TEST(EmulatedAsyncCopy, ReadingAnotherThreadsCopyAfterTheBarrierIsCorrect) {
  DANLU_REQUIRE_GPU();
  const std::vector<float> in = ramp(64);
  std::vector<float> want(64);
  for (int t = 0; t < 64; ++t) want[t] = in[t > 0 ? t - 1 : 0];
  for (int barriers : {static_cast<int>(testing::kBarrierAfterWait),
                       testing::kBarrierBeforeWait | testing::kBarrierAfterWait}) {
    DeviceBuffer<float> d_in(in), d_out(64);
    launch("read_neighbour_copy", testing::read_neighbour_copy, 1, 64, 0, nullptr, d_in.get(),
           d_out.get(), barriers);
    EXPECT_EQ(d_out.to_host(), want) << "barriers " << barriers;
  }
}

TEST(EmulatedAsyncCopy, RefillAfterABarrierIsCorrect) {
  DANLU_REQUIRE_GPU();
  const std::vector<float> in = ramp(64);
  DeviceBuffer<float> d_in(in), d_out(64);
  launch("refill_after_read", testing::refill_after_read, 1, 64, 0, nullptr, d_in.get(),
         d_out.get(), true);
  std::vector<float> want(64);
  for (int t = 0; t < 64; ++t) want[t] = in[(t + 1) % 64] - 1.0f;
  EXPECT_EQ(d_out.to_host(), want);
}

// Each misuse fails the launch with what is wrong, in any build: the checks
// sit in the copy itself.
TEST(EmulatedAsyncCopy, BadCopiesAreReported) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> in(ramp(6)), global_out(4);
  const auto run = [&](testing::CopyMisuse misuse) {
    return error_of([&] {
      launch("misused_copy", testing::misused_copy, 1, 1, 0, nullptr, in.get(), global_out.get(),
             static_cast<int>(misuse));
    });
  };
  const std::string unaligned = run(testing::kUnalignedSource);
  EXPECT_NE(unaligned.find("kernel misused_copy"), std::string::npos) << unaligned;
  EXPECT_NE(unaligned.find("cp.async of 16 bytes at tests/emulated/async_copy_kernels.cu:"),
            std::string::npos)
      << unaligned;
  EXPECT_NE(unaligned.find("source address is not 16-byte aligned"), std::string::npos)
      << unaligned;
  const std::string out_of_range = run(testing::kSourceOutOfRange);
  EXPECT_NE(out_of_range.find("16 source bytes are not inside one device allocation"),
            std::string::npos)
      << out_of_range;
  const std::string too_many = run(testing::kTooManySourceBytes);
  EXPECT_NE(too_many.find("src-size 17 is outside [0, 16]"), std::string::npos) << too_many;
  const std::string global = run(testing::kGlobalDestination);
  EXPECT_NE(global.find("destination is device (global) memory"), std::string::npos) << global;
}

#if defined(DANLU_EMULATOR_CHECKS)

// The shared-memory detectors see the copy's destination as in flight until
// the wait lands it, and the landing as a write by the copying thread.

TEST(EmulatedAsyncCopy, ReadBeforeTheWaitIsReported) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> in(ramp(64)), out(64);
  const std::string error = error_of([&] {
    launch("read_before_wait", testing::read_before_wait, 1, 64, 0, nullptr, in.get(), out.get());
  });
  // The first thread to run (0, or 63 in reverse order) reads its own slot.
  EXPECT_TRUE(std::regex_search(
      error, std::regex("kernel read_before_wait, block \\(0,0,0\\): shared memory in flight: "
                        "thread ([0-9]+) read byte [0-9]+ of __shared__ `slots`.* while a cp.async "
                        "of thread \\1 into it has not landed")))
      << error;
}

// Waiting for one group too few leaves the tile being summed in flight.
TEST(EmulatedAsyncCopy, PipelineWaitingOneGroupShortIsReported) {
  DANLU_REQUIRE_GPU();
  const int tiles = 4;
  DeviceBuffer<float> in(ramp(tiles * testing::kTileRows * testing::kTileCols)),
      out(tiles * testing::kTileCols);
  const std::string error = error_of([&] {
    launch("pipelined_column_sums", testing::pipelined_column_sums, 1, testing::kPipelineThreads,
           0, nullptr, in.get(), out.get(), tiles, static_cast<int>(testing::kWaitOneGroupShort));
  });
  EXPECT_NE(error.find("shared memory in flight"), std::string::npos) << error;
  EXPECT_NE(error.find("__shared__ `stage`"), std::string::npos) << error;
}

// Without the barrier after the wait, a thread reads its neighbour's copy in
// the barrier interval where the neighbour issued it: a race, whichever
// thread runs first (the issue counts as the copying thread's write).
TEST(EmulatedAsyncCopy, MissingBarrierAfterTheWaitIsARace) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> in(ramp(64)), out(64);
  const std::string error = error_of([&] {
    launch("read_neighbour_copy", testing::read_neighbour_copy, 1, 64, 0, nullptr, in.get(),
           out.get(), 0);
  });
  EXPECT_NE(error.find("race on shared memory"), std::string::npos) << error;
  EXPECT_NE(error.find("__shared__ `slots`"), std::string::npos) << error;
  EXPECT_NE(error.find("with no __syncthreads() between"), std::string::npos) << error;
}

// Issuing a copy into a slot that another thread reads in the same barrier
// interval is a race (the copy may land before the read), even when that
// read ran first and the copy lands after a later barrier (in thread order:
// thread 0 reads slot 1, then thread 1 issues its copy into it); a read that
// runs after the issue reads a copy in flight (in reverse order).
TEST(EmulatedAsyncCopy, RefillWithoutABarrierIsReported) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> in(ramp(64)), out(64);
  const std::string error = error_of([&] {
    launch("refill_after_read", testing::refill_after_read, 1, 64, 0, nullptr, in.get(),
           out.get(), false);
  });
  EXPECT_TRUE(std::regex_search(
      error, std::regex("race on shared memory: thread 0 read byte 4 of __shared__ `slots`.* and "
                        "thread 1 wrote it|shared memory in flight: thread 62 read byte 252 of "
                        "__shared__ `slots`.* cp.async of thread 63 ")))
      << error;
}

// A barrier between the issue and the wait orders nothing after the wait:
// a thread that reads its neighbour's copy after the neighbour landed it
// races with the landing (in thread order: thread 1 reads what thread 0
// landed); one that reads it before reads a copy in flight (in reverse order).
TEST(EmulatedAsyncCopy, BarrierBeforeTheWaitOnlyIsReported) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> in(ramp(64)), out(64);
  const std::string error = error_of([&] {
    launch("read_neighbour_copy", testing::read_neighbour_copy, 1, 64, 0, nullptr, in.get(),
           out.get(), static_cast<int>(testing::kBarrierBeforeWait));
  });
  EXPECT_TRUE(std::regex_search(
      error, std::regex("race on shared memory: thread 0 wrote byte 0 of __shared__ `slots`.* and "
                        "thread 1 read it|shared memory in flight: thread 63 read byte 248 of "
                        "__shared__ `slots`")))
      << error;
}

#endif

}  // namespace
}  // namespace danlu
