// Per-channel reductions of an (N, C, S) tensor over many blocks (batch
// norm's statistics and gradient sums, conv's bias gradient): a channel's
// M = N * S values are cut into `chunks` strips, block (c, k) of a
// (C, chunks) grid reduces strip k of channel c to one partial, and a second
// stage merges each channel's partials in strip order. No float atomics, so
// the same inputs give the same bits.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace danlu::kernels::cuda {

// Threads of a strip block.
constexpr int kStripThreads = 256;
// A strip covers at least 4 values per thread...
constexpr int64_t kMinValuesPerStrip = 4 * kStripThreads;
// ...and the channels together get about this many blocks: several per SM on
// a 132-SM H100, so (128, 16, 28, 28) runs on 1024 blocks rather than 16.
constexpr int64_t kTargetStripBlocks = 1024;

// Strips per channel: a function of the shape alone, so the reduction order
// (and so the bits) does not depend on the GPU. At most kTargetStripBlocks,
// well inside grid.y's limit of 65535.
inline int64_t chunks_for(int64_t M, int64_t C) {
  const int64_t by_work = (M + kMinValuesPerStrip - 1) / kMinValuesPerStrip;
  const int64_t by_fill = (kTargetStripBlocks + C - 1) / C;
  return std::max<int64_t>(1, std::min(by_work, by_fill));
}

// Calls f(i) with the flat index i of x[n, c, s] for the positions
// m = n * S + s = first, first + stride, ... < N * S of channel c. (n, s)
// advance by (stride / S, stride % S) with one carry, not a division per value.
template <class F>
__device__ void for_channel_values(int64_t N, int64_t C, int64_t S, int64_t c, int64_t first,
                                   int64_t stride, F f) {
  int64_t n = first / S, s = first - n * S;
  const int64_t dn = stride / S, ds = stride - dn * S;
  while (n < N) {
    f((n * C + c) * S + s);
    n += dn;
    s += ds;
    if (s >= S) {  // s + ds < 2 S, so one carry is enough
      s -= S;
      ++n;
    }
  }
}

// Strip k of channel c, as block (c, k) of a (C, chunks) grid of
// kStripThreads-thread blocks: thread t takes positions k * blockDim + t +
// j * (chunks * blockDim), so neighbouring threads read neighbouring
// addresses within a run of S.
template <class F>
__device__ void for_strip_values(int64_t N, int64_t C, int64_t S, F f) {
  const int64_t first = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  for_channel_values(N, C, S, blockIdx.x, first, static_cast<int64_t>(gridDim.y) * blockDim.x, f);
}

}  // namespace danlu::kernels::cuda
