// Kernels that use cp.async (kernels/cuda/async_copy.cuh), for
// async_copy_test.cpp. They are compiled by nvcc as well (tests/CMakeLists.txt),
// so that the wrappers' inline PTX is assembled for every target architecture.
#pragma once

#include <cuda_runtime.h>

namespace danlu::testing {

// pipelined_column_sums: a block of 64 threads, tiles of 4 x 64 floats, a
// ring of 3 shared stages.
constexpr int kPipelineThreads = 64;
constexpr int kTileRows = 4;
constexpr int kTileCols = 64;
constexpr int kStages = 3;

enum PipelineBug : int {
  kCorrectPipeline,
  kWaitOneGroupShort,  // cp_async_wait<kStages - 1>: tile i is still in flight when read
};

// Block b streams `tiles` tiles (row-major, from in + b * tiles * 256) through
// the stages and writes out[(b * tiles + i) * 64 + c] = the sum of column c of
// tile i, which other threads copied.
__global__ void pipelined_column_sums(const float* in, float* out, int tiles, int bug);

// 32 threads: thread t stages 16 bytes of in + 4t with src-size t % 17, and
// in[7t % 128] (src-size 4 for even t, 0 for odd t), then writes what thread
// (t + 1) % 32 staged to out16[4t .. 4t + 3] and out4[t].
__global__ void zero_fill(const float* in, float* out16, float* out4);

// Up to 64 threads gather single floats, in[index[t]] (any float offset, as
// im2col does), and write them out in reverse order: out[t] = in[index[n - 1 - t]].
__global__ void gather_floats(const float* in, const int* index, float* out, int n);

// Where read_neighbour_copy has a __syncthreads(): flags.
enum NeighbourBarriers : int {
  kBarrierBeforeWait = 1,  // between issuing the copy and waiting for it
  kBarrierAfterWait = 2,   // between the wait and the read: the one that orders it
};

// 64 threads: each copies in[t] into slot t, waits for it, and reads slot
// t - 1 (thread 0 its own), which its neighbour copied: out[t] = in[max(t - 1, 0)].
__global__ void read_neighbour_copy(const float* in, float* out, int barriers);

// 64 threads: each reads slot (t + 1) % 64 (which held -1), then copies in[t]
// into slot t, passes a barrier, waits, and after another barrier writes
// out[t] = the old value + the new slot (t + 1) % 64 = in[(t + 1) % 64] - 1.
// Without `barrier` between the read and the copy, the neighbour's copy may
// land before the read.
__global__ void refill_after_read(const float* in, float* out, bool barrier);

// 64 threads: each copies in[t] into a slot that held -1 and reads the slot
// before waiting for the copy.
__global__ void read_before_wait(const float* in, float* out);

enum CopyMisuse : int {
  kUnalignedSource,    // a 16-byte copy from in + 1
  kSourceOutOfRange,   // 16 bytes from in + 4, in an allocation of 6 floats
  kTooManySourceBytes, // src-size 17 for a 16-byte copy
  kGlobalDestination,  // a copy into device memory
};

// One thread makes one bad copy.
__global__ void misused_copy(const float* in, float* global_out, int misuse);

}  // namespace danlu::testing
