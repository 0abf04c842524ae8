// The bias gradient of every conv variant: dbias[o] = the sum of
// dy[:, o, :, :], split into strips per channel (channel_strips.cuh) and
// merged in strip order, in double; no float atomics, so the bits repeat.
#include "kernels/conv.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/channel_strips.cuh"
#include "kernels/cuda/conv/variants.h"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

// Stage 1, on a (O, chunks) grid: block (o, k) adds strip k of channel o,
// each thread its positions in double, then the block in a fixed tree
// (block_reduce); thread 0 writes the strip's sum to partial[k * O + o], or,
// when the channel is one strip, dbias[o] itself.
__global__ void bias_grad_strips(const float* dy, double* partial, float* dbias, int64_t n,
                                 int64_t o_total, int64_t plane) {
  __shared__ double scratch[kWarpSize];
  double acc = 0.0;
  for_strip_values(n, o_total, plane, [&](int64_t i) { acc += dy[i]; });
  acc = block_reduce(acc, Sum{}, 0.0, scratch);
  if (threadIdx.x != 0) return;
  if (gridDim.y == 1)
    dbias[blockIdx.x] = static_cast<float>(acc);
  else
    partial[int64_t(blockIdx.y) * o_total + blockIdx.x] = acc;
}

// Stage 2: thread o adds channel o's strip sums in strip order, in double,
// and rounds once to dbias[o].
__global__ void bias_grad_merge(const double* partial, float* dbias, int64_t chunks,
                                int64_t o_total) {
  const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= o_total) return;
  double acc = 0.0;
  for (int64_t k = 0; k < chunks; ++k) acc += partial[k * o_total + o];
  dbias[o] = static_cast<float>(acc);
}

constexpr int kMergeThreads = 256;

}  // namespace

// The strip sums are doubles, two floats each; none when a channel is one strip.
int64_t bias_grad_workspace(const Conv2dShape& s) {
  const int64_t chunks = chunks_for(s.n * s.oh * s.ow, s.o);
  return chunks > 1 ? 2 * chunks * s.o : 0;
}

void bias_grad(const float* dy, float* dbias, float* workspace, const Conv2dShape& s,
               Stream stream) {
  const int64_t chunks = chunks_for(s.n * s.oh * s.ow, s.o);
  auto* strip_sums = reinterpret_cast<double*>(workspace);
  launch("conv2d_bias_grad_strips", bias_grad_strips,
         dim3(static_cast<unsigned>(s.o), static_cast<unsigned>(chunks)), dim3(kStripThreads), 0,
         stream, dy, strip_sums, dbias, s.n, s.o, s.oh * s.ow);
  if (chunks > 1)
    launch("conv2d_bias_grad_merge", bias_grad_merge, dim3(blocks_for(s.o, kMergeThreads)),
           dim3(kMergeThreads), 0, stream, strip_sums, dbias, chunks, s.o);
}

}  // namespace danlu::kernels::cuda
