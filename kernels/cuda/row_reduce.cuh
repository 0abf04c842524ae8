// Warp and block reductions for the row-wise kernels (softmax, cross-entropy,
// layer norm, batch norm). Every reduction visits its values in a fixed tree
// order, so the same inputs always give the same bits: no atomics.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

constexpr unsigned kFullWarp = 0xffffffffu;
constexpr int kWarpSize = 32;

struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Butterfly reduction over the 32 lanes of a full warp. Both operations are
// commutative, so every lane ends with the same bits.
template <class Op>
__device__ inline float warp_reduce(float v, Op op) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    v = op(v, __shfl_xor_sync(kFullWarp, v, offset));
  return v;
}

// Reduction over a block whose size is a multiple of 32 (at most 1024);
// every thread gets the result. `scratch` is a __shared__ float[32] of the
// calling kernel; the trailing barrier lets the next call reuse it. Every
// thread of the block must reach this call.
template <class Op>
__device__ inline float block_reduce(float v, Op op, float identity, float* scratch) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  v = warp_reduce(v, op);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / kWarpSize;
  v = warp_reduce(lane < warps ? scratch[lane] : identity, op);
  __syncthreads();
  return v;
}

// Rows longer than this get a block each; up to it, a warp (at most 32
// values per lane, no block barrier).
constexpr int64_t kWarpRowMax = 1024;

// The row a thread works on and its place in the row's team: a warp
// (WarpPerRow: block b holds rows b * W ... b * W + W - 1, W = blockDim.x / 32)
// or the whole block (block b holds row b).
template <bool WarpPerRow>
struct RowTeam {
  int64_t row;
  int lane;
  int size;
};

template <bool WarpPerRow>
__device__ inline RowTeam<WarpPerRow> row_team() {
  if constexpr (WarpPerRow)
    return {static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarpSize) + threadIdx.x / kWarpSize,
            static_cast<int>(threadIdx.x % kWarpSize), kWarpSize};
  else
    return {static_cast<int64_t>(blockIdx.x), static_cast<int>(threadIdx.x),
            static_cast<int>(blockDim.x)};
}

// Reduction over a row's team; every thread of the team gets the result.
template <bool WarpPerRow, class Op>
__device__ inline float team_reduce(float v, Op op, float identity, float* scratch) {
  if constexpr (WarpPerRow)
    return warp_reduce(v, op);
  else
    return block_reduce(v, op, identity, scratch);
}

// Blocks of `threads` for `rows` row teams.
inline dim3 row_grid(int64_t rows, bool warp_per_row, int threads) {
  return warp_per_row ? dim3(blocks_for(rows, threads / kWarpSize))
                      : dim3(static_cast<unsigned>(rows));
}

}  // namespace danlu::kernels::cuda
