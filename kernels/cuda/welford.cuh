// Welford's running (count, mean, M2) statistics and their pairwise merge
// (Chan et al.), for batch norm and layer norm. Unlike sum and sum of squares
// they do not cancel catastrophically, and merging partial states in a tree
// keeps the error growth logarithmic. Callers fold x - shift, with shift one
// of the values being reduced: a float mean near 1e3 would only be known to
// its ulp (6e-5), and every deviation from it with that absolute error.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/row_reduce.cuh"

namespace danlu::kernels::cuda {

// Trivially constructible so it can live in __shared__ memory; Welford{} is
// the empty state.
struct Welford {
  float count;
  float mean;
  float m2;  // sum of squared deviations from mean
};

__device__ inline void welford_add(Welford& w, float x) {
  w.count += 1.0f;
  const float delta = x - w.mean;
  w.mean += delta / w.count;
  w.m2 += delta * (x - w.mean);
}

__device__ inline Welford welford_merge(const Welford& a, const Welford& b) {
  if (b.count == 0.0f) return a;
  if (a.count == 0.0f) return b;
  const float count = a.count + b.count, delta = b.mean - a.mean;
  const float b_share = b.count / count;
  return {count, a.mean + delta * b_share, a.m2 + b.m2 + delta * delta * a.count * b_share};
}

// Tree merge over a full warp; lane 0 holds the warp's state.
__device__ inline Welford warp_welford(Welford w) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    const Welford other{__shfl_down_sync(kFullWarp, w.count, offset),
                        __shfl_down_sync(kFullWarp, w.mean, offset),
                        __shfl_down_sync(kFullWarp, w.m2, offset)};
    w = welford_merge(w, other);
  }
  return w;
}

// Same over the whole warp, then handed to every lane.
__device__ inline Welford warp_welford_all(Welford w) {
  w = warp_welford(w);
  return {__shfl_sync(kFullWarp, w.count, 0), __shfl_sync(kFullWarp, w.mean, 0),
          __shfl_sync(kFullWarp, w.m2, 0)};
}

// Tree merge over a block whose size is a multiple of 32; every thread gets
// the block's state. `scratch` is a __shared__ Welford[32] of the calling
// kernel. Every thread of the block must reach this call.
__device__ inline Welford block_welford(Welford w, Welford* scratch) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  w = warp_welford(w);
  if (lane == 0) scratch[warp] = w;
  __syncthreads();
  const int warps = blockDim.x / kWarpSize;
  w = warp_welford_all(lane < warps ? scratch[lane] : Welford{});
  __syncthreads();
  return w;
}

// The row's statistics over its team (RowTeam), handed to every thread.
template <bool WarpPerRow>
__device__ inline Welford team_welford(Welford w, Welford* scratch) {
  if constexpr (WarpPerRow)
    return warp_welford_all(w);
  else
    return block_welford(w, scratch);
}

}  // namespace danlu::kernels::cuda
