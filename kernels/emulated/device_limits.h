// The limits of the emulated device: those of an sm_90 GPU (H100), which the
// emulator enforces at launch so that a configuration that would fail on the
// GPU fails here too.
#pragma once

#include <cstddef>

namespace danlu::emu {

constexpr int kComputeMajor = 9;
constexpr int kComputeMinor = 0;
constexpr int kWarpSize = 32;
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDim[3] = {1024, 1024, 64};
constexpr unsigned kMaxGridDim[3] = {2147483647u, 65535, 65535};
// Dynamic shared memory a kernel may use without cudaFuncSetAttribute.
constexpr size_t kDefaultSharedPerBlock = 48 * 1024;
// The most a kernel may opt in to (cudaFuncAttributeMaxDynamicSharedMemorySize).
constexpr size_t kMaxSharedPerBlockOptin = 227 * 1024;
constexpr size_t kSharedPerMultiprocessor = 228 * 1024;
constexpr int kMaxThreadsPerMultiprocessor = 2048;
// Blocks run one at a time: the emulated device has one multiprocessor.
constexpr int kMultiprocessors = 1;
// Fixed, made-up clocks (kHz, as cudaDevAttrClockRate reports them) and L2
// size, so that code which derives peaks from them (danlu profile's roofline)
// runs; they describe no hardware, and emulated timings are host time.
constexpr int kClockKhz = 1000000;
constexpr int kMemoryClockKhz = 1000000;
constexpr int kL2CacheBytes = 4 << 20;

}  // namespace danlu::emu
