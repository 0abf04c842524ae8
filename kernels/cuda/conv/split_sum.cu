// How the implicit GEMMs' backward-weight passes cut their depth N*OH*OW
// across blocks, and the second pass that adds the slices' partial sums in
// a fixed order, so that dweight is deterministic without float atomics.
#include <algorithm>

#include "kernels/conv.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/conv/split_sum.h"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

// The reduction runs over N*OH*OW terms for a small output, so its depth is
// split until the grid has about kTargetBlocks blocks (several per SM of a
// large GPU), keeping every slice at least kMinSlice long so that the
// partial sums stay small next to the inputs they reduce.
constexpr int64_t kTargetBlocks = 1024;
constexpr int64_t kMinSlice = 512;

// dweight[e] = the sum over splits of partial[split][e]. Block b owns the
// 32 elements e = 32 b + x (x = threadIdx.x, so a warp reads 128 contiguous
// bytes of one split): thread (x, y) adds splits y, y + kSplitLanes, ... of
// element e, and thread (x, 0) then adds the kSplitLanes sums in y order. The
// order depends on `splits` alone, so the bits repeat.
constexpr int kSplitLanes = 8;
__global__ void sum_splits(const float* partial, float* dweight, int64_t count, int splits) {
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

int64_t weight_grad_slice(int64_t depth, int64_t tiles, int64_t groups, int64_t step) {
  int64_t splits = std::min((kTargetBlocks + tiles - 1) / tiles, depth / kMinSlice);
  splits = std::clamp<int64_t>(splits, 1, std::max<int64_t>(65535 / groups, 1));
  const int64_t slice = (depth + splits - 1) / splits;
  return std::max<int64_t>((slice + step - 1) / step * step, step);
}

void sum_weight_splits(const float* partial, float* dweight, int64_t count, int splits,
                       Stream stream) {
  launch("conv2d_sum_splits", sum_splits, dim3(blocks_for(count, kWarpSize)),
         dim3(kWarpSize, kSplitLanes), 0, stream, partial, dweight, count, splits);
}

}  // namespace danlu::kernels::cuda
