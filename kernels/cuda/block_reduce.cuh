// The warp and block reductions every CUDA kernel of danlu uses (row-wise
// softmax, cross-entropy, layer and batch norm; the sums of reduce.cu; the
// optimizer's norms and dot products), templated on the value type and the
// operation. Each visits its values in a fixed tree order, so the same
// inputs always give the same bits: no atomics.
#pragma once

#include <cuda_runtime.h>

namespace danlu::kernels::cuda {

constexpr unsigned kFullWarp = 0xffffffffu;
constexpr int kWarpSize = 32;

struct Sum {
  template <class T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
// The larger value, ignoring a NaN (fmax).
struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
  __device__ double operator()(double a, double b) const { return fmax(a, b); }
};
// The larger value, NaN when either is (the CPU's inf-norm).
struct NanMax {
  __device__ double operator()(double a, double b) const {
    return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
  }
};

// Butterfly reduction over the 32 lanes of a full warp. The operations are
// commutative, so every lane ends with the same bits.
template <class T, class Op>
__device__ inline T warp_reduce(T v, Op op) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    v = op(v, __shfl_xor_sync(kFullWarp, v, offset));
  return v;
}

// Reduction over a block whose size is a multiple of 32 (at most 1024):
// each warp reduces its lanes and lane 0 stores the warp's value in
// `scratch` (the calling kernel's __shared__ T[blockDim.x / 32]); after a
// barrier every warp reduces those values, so every thread gets the result.
// The trailing barrier lets the next call reuse `scratch`. Every thread of
// the block must reach this call.
template <class T, class Op>
__device__ inline T block_reduce(T v, Op op, T identity, T* scratch) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  v = warp_reduce(v, op);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / kWarpSize;
  v = warp_reduce(lane < warps ? scratch[lane] : identity, op);
  __syncthreads();
  return v;
}

}  // namespace danlu::kernels::cuda
