// Kernels that use the TF32 tensor-core wrappers (kernels/cuda/mma_tf32.cuh),
// for mma_tf32_test.cpp. They are compiled by nvcc as well
// (tests/CMakeLists.txt), so that the wrappers' inline PTX is assembled for
// every target architecture.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace danlu::testing {

constexpr int kMmaM = 16, kMmaN = 8, kMmaK = 8;

// out[i] = to_tf32(in[i]) as bits, one thread per value.
__global__ void round_to_tf32(const float* in, uint32_t* out, int n);

// Warp w of block b computes product p = b * (blockDim.x / 32) + w:
// d_p = a_p * b_p + c_p with a_p 16x8, b_p 8x8 (k x n) and c_p, d_p 16x8, all
// row-major and packed one product after another. Each lane loads its
// fragments by the table in mma_tf32.cuh; with `round` the A and B values go
// through to_tf32, without it their f32 bits go in as they are.
__global__ void warp_products(const float* a, const float* b, const float* c, float* d,
                              bool round);

enum MmaMisuse : int {
  kNoMisuse,
  kLaneReturns,     // lane 5 returns before the mma
  kLaneElsewhere,   // lane 5 waits at __syncwarp() instead
  kTwoCalls,        // odd and even lanes reach different mma calls
  kPartialWarp,     // launched with 16 threads (the kernel does nothing wrong itself)
};

// Every thread of the block takes part in one mma, except as `misuse` says.
__global__ void misused_mma(float* d, int misuse);

}  // namespace danlu::testing
