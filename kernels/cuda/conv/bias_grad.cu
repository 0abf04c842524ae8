// The bias gradient of every conv variant: dbias[o] = the sum of
// dy[:, o, :, :], split into strips per channel (channel_strips.cuh) and
// merged in a fixed order, in double, in the same launch; no float atomics,
// so the bits repeat.
#include "kernels/conv.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/channel_strips.cuh"
#include "kernels/cuda/conv/variants.h"
#include "kernels/cuda/last_block.cuh"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

// One launch on an (O, chunks) grid: block (o, k) adds strip k of channel
// o, each thread its positions in double, then the block in a fixed tree
// (block_reduce). When the channel is one strip, thread 0 writes dbias[o]
// itself; otherwise it writes the strip's sum to partial[k * O + o], and the
// channel's last block to finish (last_block.cuh) adds the channel's strip
// sums, thread t those of strips t, t + blockDim, ..., then the block in the
// same fixed tree, so the bits do not depend on which block is last, and
// rounds once to dbias[o].
__global__ void bias_grad_kernel(const float* dy, double* partial, unsigned* arrivals,
                                 float* dbias, int64_t n, int64_t o_total, int64_t plane) {
  __shared__ double scratch[kWarpSize];
  __shared__ bool last;
  const int64_t o = blockIdx.x;
  double acc = 0.0;
  for_strip_values(n, o_total, plane, [&](int64_t i) { acc += dy[i]; });
  acc = block_reduce(acc, Sum{}, 0.0, scratch);
  if (gridDim.y == 1) {
    if (threadIdx.x == 0) dbias[o] = static_cast<float>(acc);
    return;
  }
  if (threadIdx.x == 0) partial[int64_t(blockIdx.y) * o_total + o] = acc;
  if (!arrived_last(arrivals + o, gridDim.y, &last)) return;
  const volatile double* sums = partial;
  double all = 0.0;
  for (int64_t k = threadIdx.x; k < gridDim.y; k += blockDim.x) all += sums[k * o_total + o];
  all = block_reduce(all, Sum{}, 0.0, scratch);
  if (threadIdx.x == 0) dbias[o] = static_cast<float>(all);
}

}  // namespace

// The strip sums are doubles, two floats each; none when a channel is one strip.
int64_t bias_grad_workspace(const Conv2dShape& s) {
  const int64_t chunks = chunks_for(s.n * s.oh * s.ow, s.o);
  return chunks > 1 ? 2 * chunks * s.o : 0;
}

void bias_grad(const float* dy, float* dbias, float* workspace, const Conv2dShape& s,
               Stream stream) {
  const int64_t chunks = chunks_for(s.n * s.oh * s.ow, s.o);
  launch("conv2d_bias_grad", bias_grad_kernel,
         dim3(static_cast<unsigned>(s.o), static_cast<unsigned>(chunks)), dim3(kStripThreads), 0,
         stream, dy, reinterpret_cast<double*>(workspace),
         chunks > 1 ? arrival_counters(s.o, stream) : nullptr, dbias, s.n, s.o, s.oh * s.ow);
}

}  // namespace danlu::kernels::cuda
