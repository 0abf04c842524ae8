// Reducing multi-tensor launches (the gradient norm, SWATS's projections):
// block b reduces chunk b of the table (multi_tensor.cuh) in double with
// block_reduce (identity 0 fits both Sum and NanMax of |g| terms), and the
// block that finishes last combines every block's result in block order, so
// a launch gives the same bits whichever block ends last. The host side
// allocates the partial results and reads the K results back, or leaves
// them on the device for the next launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/check.h"
#include "kernels/cuda/last_block.cuh"
#include "kernels/cuda/multi_tensor.cuh"
#include "kernels/cuda/scratch.h"

namespace danlu::kernels::cuda {

constexpr int kWarps = kChunkThreads / kWarpSize;

// The element range of block b's chunk.
struct ChunkRange {
  Row row;
  int64_t begin, end;
};
__device__ __forceinline__ ChunkRange chunk_range(const Table& table) {
  const ChunkRef ref = table.chunks[blockIdx.x];
  const Row row = table.rows[ref.row];
  const int64_t begin = static_cast<int64_t>(ref.chunk) * kChunk;
  return {row, begin, begin + kChunk < row.n ? begin + kChunk : row.n};
}

// Where the blocks of a reducing launch meet: K arrays of one partial result
// per block, the K results, and the count of blocks done (last_block.cuh).
struct Partials {
  double* partial;  // [K][gridDim.x]
  double* out;      // [K]
  unsigned* done;
};

// The end of a reducing launch (every thread of every block calls it, with
// its block's results `mine` valid in thread 0, and the block's __shared__
// scratch, which the combine reuses only after its barrier). Thread 0 stores
// the block's results; the block that arrives last (last_block.cuh) reads
// every block's results (volatile: other blocks wrote them during this
// launch), combines each array in block order (the same order whichever
// block comes last) and writes out. Returns true in the last block.
template <class Combine, int K>
__device__ bool combine_across_blocks(const double (&mine)[K], const Partials& p,
                                      double (*warp_vals)[kWarps], bool* last) {
  if (threadIdx.x == 0)
    for (int k = 0; k < K; ++k) p.partial[k * gridDim.x + blockIdx.x] = mine[k];
  if (!arrived_last(p.done, gridDim.x, last)) return false;
  const volatile double* all = p.partial;
  for (int k = 0; k < K; ++k) {
    double acc = 0.0;
    for (unsigned b = threadIdx.x; b < gridDim.x; b += kChunkThreads)
      acc = Combine()(acc, all[k * gridDim.x + b]);
    acc = block_reduce(acc, Combine(), 0.0, warp_vals[k]);
    if (threadIdx.x == 0) p.out[k] = acc;
  }
  return true;
}

// Runs `launch_with(partials)`, a reducing launch over the table's chunks
// with `components` results, then `use_results(partials.out)` (device
// memory, valid until the launches `use_results` queues have run).
template <class LaunchWith, class UseResults>
void reduce_on_device(const Table& t, int components, Stream stream, LaunchWith launch_with,
                      UseResults use_results) {
  const Scratch scratch(static_cast<size_t>(components) * (t.num_chunks + 1) * sizeof(double));
  double* partial = scratch.data<double>();
  const Partials partials{partial, partial + static_cast<size_t>(components) * t.num_chunks,
                          arrival_counters(1, stream)};
  launch_with(partials);
  use_results(partials.out);
}

// reduce_on_device, with the `components` results copied to the host.
template <class LaunchWith>
void reduce_to_host(const Table& t, int components, double* results, Stream stream,
                    LaunchWith launch_with) {
  reduce_on_device(t, components, stream, launch_with, [&](const double* out) {
    DANLU_CUDA_CHECK(cudaMemcpyAsync(results, out, components * sizeof(double),
                                     cudaMemcpyDeviceToHost, stream));
  });
  DANLU_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace danlu::kernels::cuda
