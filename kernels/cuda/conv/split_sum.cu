// The partial sums of a split backward-weight reduction, added in a fixed
// order (split_sum.h).
#include "kernels/cuda/conv/split_sum.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

// dweight[e] = the sum over splits of partial[split][e]. Block b owns the
// 32 elements e = 32 b + x (x = threadIdx.x, so a warp reads 128 contiguous
// bytes of one split): thread (x, y) adds splits y, y + kSplitLanes, ... of
// element e, and thread (x, 0) then adds the kSplitLanes sums in y order. The
// order depends on `splits` alone, so the bits repeat.
constexpr int kSplitLanes = 8;
__global__ void sum_splits_kernel(const float* partial, float* dweight, int64_t count,
                                  int splits) {
  __shared__ float lane_sums[kSplitLanes][kWarpSize];
  const int64_t e = int64_t(blockIdx.x) * kWarpSize + threadIdx.x;
  float acc = 0.f;
  if (e < count)
    for (int split = threadIdx.y; split < splits; split += kSplitLanes)
      acc += partial[split * count + e];
  lane_sums[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || e >= count) return;
  float sum = 0.f;
  for (int lane = 0; lane < kSplitLanes; ++lane) sum += lane_sums[lane][threadIdx.x];
  dweight[e] = sum;
}

}  // namespace

void sum_splits(const float* partial, float* dweight, int64_t count, int splits, Stream stream) {
  launch("conv2d_sum_splits", sum_splits_kernel, dim3(blocks_for(count, kWarpSize)),
         dim3(kWarpSize, kSplitLanes), 0, stream, partial, dweight, count, splits);
}

}  // namespace danlu::kernels::cuda
