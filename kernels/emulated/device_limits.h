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

}  // namespace danlu::emu
