// Row teams for the row-wise kernels (softmax, cross-entropy, layer norm,
// batch norm): a warp or a block per row, reducing through block_reduce.cuh.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

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
