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
// the empty state. Kernels fold values in float; batch norm merges its
// strips' states in double (WelfordD).
template <class T>
struct WelfordOf {
  T count;
  T mean;
  T m2;  // sum of squared deviations from mean
};
using Welford = WelfordOf<float>;
using WelfordD = WelfordOf<double>;

__device__ inline void welford_add(Welford& w, float x) {
  w.count += 1.0f;
  const float delta = x - w.mean;
  w.mean += delta / w.count;
  w.m2 += delta * (x - w.mean);
}

template <class T>
__device__ inline WelfordOf<T> welford_merge(const WelfordOf<T>& a, const WelfordOf<T>& b) {
  if (b.count == T(0)) return a;
  if (a.count == T(0)) return b;
  const T count = a.count + b.count, delta = b.mean - a.mean;
  const T b_share = b.count / count;
  return {count, a.mean + delta * b_share, a.m2 + b.m2 + delta * delta * a.count * b_share};
}

// Tree merge over a full warp; lane 0 holds the warp's state.
template <class T>
__device__ inline WelfordOf<T> warp_welford(WelfordOf<T> w) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    const WelfordOf<T> other{__shfl_down_sync(kFullWarp, w.count, offset),
                        __shfl_down_sync(kFullWarp, w.mean, offset),
                        __shfl_down_sync(kFullWarp, w.m2, offset)};
    w = welford_merge(w, other);
  }
  return w;
}

// Same over the whole warp, then handed to every lane.
template <class T>
__device__ inline WelfordOf<T> warp_welford_all(WelfordOf<T> w) {
  w = warp_welford(w);
  return {__shfl_sync(kFullWarp, w.count, 0), __shfl_sync(kFullWarp, w.mean, 0),
          __shfl_sync(kFullWarp, w.m2, 0)};
}

// Tree merge over a block whose size is a multiple of 32; every thread gets
// the block's state. `scratch` is a __shared__ WelfordOf<T>[32] of the calling
// kernel. Every thread of the block must reach this call.
template <class T>
__device__ inline WelfordOf<T> block_welford(WelfordOf<T> w, WelfordOf<T>* scratch) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  w = warp_welford(w);
  if (lane == 0) scratch[warp] = w;
  __syncthreads();
  const int warps = blockDim.x / kWarpSize;
  w = warp_welford_all(lane < warps ? scratch[lane] : WelfordOf<T>{});
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
