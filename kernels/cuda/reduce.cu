// CUDA reductions over the middle axis of an (outer, reduce, inner) view.
//
// Sums are deterministic: no atomics. Each output's terms are split into a
// number of slices chosen from the shape alone (never from the GPU), each
// slice is summed in double by a fixed tree, and when there are several
// slices a second kernel adds their partial sums in slice order. Three
// layouts:
// - rows (inner == 1), short: one warp per row;
// - rows, long: one block per (row, slice);
// - columns (inner > 1): a block per (outer index, tile of columns, slice),
//   its threads laid out as (column in the tile, lane along the reduction),
//   so each load instruction reads neighbouring columns.
#include "kernels/reduce.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/scratch.h"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / kWarpSize;
// Rows up to this long get one warp each (at most 32 terms per lane).
constexpr int64_t kWarpRowMax = 1024;
// Slicing: aim for this many blocks in flight, but keep every slice at
// least this long (terms per row slice, reduction rows per column slice), so
// the partial sums stay few.
constexpr int64_t kTargetBlocks = 1024;
constexpr int64_t kMinRowSlice = 16384;
constexpr int64_t kMinColumnSlice = 128;

// One warp per row of `reduce` terms: each lane sums the terms lane, lane +
// 32, ... in double, then the warp adds its 32 partial sums by a butterfly.
__global__ void sum_rows_warp_kernel(const float* x, float* y, int64_t rows, int64_t reduce) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize;
  if (row >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % kWarpSize;
  const float* base = x + row * reduce;
  double acc = 0.0;
  for (int64_t r = lane; r < reduce; r += kWarpSize) acc += base[r];
  acc = warp_reduce(acc, Sum{});
  if (lane == 0) y[row] = static_cast<float>(acc);
}

// One block per (row, slice): blockIdx.x is the row, blockIdx.y the slice of
// `slice_len` terms. Each thread sums its strided terms of the slice, the
// block adds the 256 sums; thread 0 writes the row's sum to y (one slice)
// or the slice's partial sum to partial[row * slices + slice].
__global__ void sum_rows_block_kernel(const float* x, float* y, double* partial, int64_t reduce,
                                      int64_t slice_len) {
  __shared__ double warp_sums[kWarpsPerBlock];
  const int64_t row = blockIdx.x;
  const int64_t begin = static_cast<int64_t>(blockIdx.y) * slice_len;
  const int64_t end = begin + slice_len < reduce ? begin + slice_len : reduce;
  const float* base = x + row * reduce;
  double acc = 0.0;
  for (int64_t r = begin + threadIdx.x; r < end; r += kThreads) acc += base[r];
  acc = block_reduce(acc, Sum{}, 0.0, warp_sums);
  if (threadIdx.x != 0) return;
  if (partial) {
    partial[row * gridDim.y + blockIdx.y] = acc;
  } else {
    y[row] = static_cast<float>(acc);
  }
}

// Column sums: block (bx, 256 / bx) threads, bx a power of two <= 32.
// blockIdx.x = outer index * tiles + tile of bx columns, blockIdx.y = slice of
// `slice_len` reduction rows. Thread (tx, ty) sums column tile * bx + tx over
// the rows ty, ty + by, ... of the slice; the block then halves over ty in
// shared memory, and row ty = 0 writes the sum (one slice) or the partial sum
// partial[(o * inner + i) * slices + slice].
__global__ void sum_columns_kernel(const float* x, float* y, double* partial, int64_t reduce,
                                   int64_t inner, int64_t tiles, int64_t slice_len) {
  __shared__ double sums[kThreads];
  const int bx = blockDim.x, by = blockDim.y;
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t o = blockIdx.x / tiles;
  const int64_t i = (blockIdx.x % tiles) * bx + tx;
  const int64_t begin = static_cast<int64_t>(blockIdx.y) * slice_len;
  const int64_t end = begin + slice_len < reduce ? begin + slice_len : reduce;
  double acc = 0.0;
  if (i < inner) {
    const float* base = x + o * reduce * inner + i;
    for (int64_t r = begin + ty; r < end; r += by) acc += base[r * inner];
  }
  sums[ty * bx + tx] = acc;
  __syncthreads();
  for (int half = by / 2; half > 0; half /= 2) {
    if (ty < half) sums[ty * bx + tx] += sums[(ty + half) * bx + tx];
    __syncthreads();
  }
  if (ty != 0 || i >= inner) return;
  if (partial) {
    partial[(o * inner + i) * gridDim.y + blockIdx.y] = sums[tx];
  } else {
    y[o * inner + i] = static_cast<float>(sums[tx]);
  }
}

// Second pass: one warp per output adds its `slices` partial sums (lane-
// strided, then a butterfly) and writes the float result.
__global__ void sum_partials_kernel(const double* partial, float* y, int64_t outputs,
                                    int64_t slices) {
  const int64_t out = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize;
  if (out >= outputs) return;  // the whole warp leaves together
  const int lane = threadIdx.x % kWarpSize;
  double acc = 0.0;
  for (int64_t s = lane; s < slices; s += kWarpSize) acc += partial[out * slices + s];
  acc = warp_reduce(acc, Sum{});
  if (lane == 0) y[out] = static_cast<float>(acc);
}

// The number of slices that brings `blocks` (blocks per slice) near the
// target, with slices at least `min_slice` long; and that slice length.
void slicing(int64_t length, int64_t blocks, int64_t min_slice, int64_t* slices,
             int64_t* slice_len) {
  const int64_t by_target = (kTargetBlocks + blocks - 1) / blocks;
  const int64_t by_length = (length + min_slice - 1) / min_slice;
  const int64_t s = std::max<int64_t>(1, std::min(by_target, by_length));
  *slice_len = (length + s - 1) / s;
  *slices = (length + *slice_len - 1) / *slice_len;  // no empty trailing slice
}

// Runs the second pass when there is more than one slice; `first` launches
// the first pass given the partial buffer (null for one slice).
template <class First>
void sliced(float* y, int64_t outputs, int64_t slices, Stream stream, First first) {
  if (slices == 1) {
    first(nullptr);
    return;
  }
  const Scratch scratch(static_cast<size_t>(outputs * slices) * sizeof(double));
  double* partial = scratch.data<double>();
  first(partial);
  launch("sum_partials", sum_partials_kernel, blocks_for(outputs, kWarpsPerBlock), kThreads, 0,
         stream, partial, y, outputs, slices);
}

// ---- argmax ---------------------------------------------------------------------

// A candidate for the maximum. The CPU's scan (`x[r] > x[best]`, best = 0 at
// first) keeps index 0 when x[0] is NaN, never moves to a NaN, and otherwise
// keeps the first of equal maxima. Ranking candidates by class (NaN at index
// 0 > numbers > NaN elsewhere > none), then value, then lower index, makes
// the maximum of any grouping of the terms that same index.
struct Best {
  float v;
  int64_t i;  // -1: no candidate yet
};

__device__ __forceinline__ int rank_class(const Best& b) {
  if (b.i < 0) return -1;
  if (isnan(b.v)) return b.i == 0 ? 2 : 0;
  return 1;
}

__device__ __forceinline__ bool beats(const Best& a, const Best& b) {
  const int ca = rank_class(a), cb = rank_class(b);
  if (ca != cb) return ca > cb;
  if (ca == 1 && a.v != b.v) return a.v > b.v;
  return a.i < b.i;
}

__device__ __forceinline__ Best warp_best(Best b) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    const Best other{__shfl_xor_sync(kFullWarp, b.v, offset),
                     __shfl_xor_sync(kFullWarp, b.i, offset)};
    if (beats(other, b)) b = other;
  }
  return b;
}

// One warp per row: each lane scans terms lane, lane + 32, ..., then the warp
// combines the 32 candidates; lane 0 writes the index.
__global__ void argmax_rows_warp_kernel(const float* x, int64_t* y, int64_t rows,
                                        int64_t reduce) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize;
  if (row >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % kWarpSize;
  const float* base = x + row * reduce;
  Best best{0.0f, -1};
  for (int64_t r = lane; r < reduce; r += kWarpSize) {
    const Best c{base[r], r};
    if (beats(c, best)) best = c;
  }
  best = warp_best(best);
  if (lane == 0) y[row] = best.i;
}

// One block per row (long rows): each thread scans its strided terms, warps
// combine, then warp 0 combines the 8 warp winners; thread 0 writes.
__global__ void argmax_rows_block_kernel(const float* x, int64_t* y, int64_t reduce) {
  __shared__ float warp_v[kWarpsPerBlock];
  __shared__ int64_t warp_i[kWarpsPerBlock];
  const int64_t row = blockIdx.x;
  const float* base = x + row * reduce;
  Best best{0.0f, -1};
  for (int64_t r = threadIdx.x; r < reduce; r += kThreads) {
    const Best c{base[r], r};
    if (beats(c, best)) best = c;
  }
  best = warp_best(best);
  if (threadIdx.x % kWarpSize == 0) {
    warp_v[threadIdx.x / kWarpSize] = best.v;
    warp_i[threadIdx.x / kWarpSize] = best.i;
  }
  __syncthreads();
  if (threadIdx.x >= kWarpSize) return;
  best = threadIdx.x < kWarpsPerBlock ? Best{warp_v[threadIdx.x], warp_i[threadIdx.x]}
                                      : Best{0.0f, -1};
  best = warp_best(best);
  if (threadIdx.x == 0) y[row] = best.i;
}

// Columns (inner > 1): one thread per output (o, i) scans its column in
// order with the CPU's comparison; neighbouring threads read neighbouring
// columns.
__global__ void argmax_columns_kernel(const float* x, int64_t* y, int64_t outer, int64_t reduce,
                                      int64_t inner) {
  const int64_t out = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (out >= outer * inner) return;
  const float* base = x + (out / inner) * reduce * inner + out % inner;
  int64_t best = 0;
  for (int64_t r = 1; r < reduce; ++r)
    if (base[r * inner] > base[best * inner]) best = r;
  y[out] = best;
}

}  // namespace

void sum_middle(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner,
                Stream stream) {
  const int64_t outputs = outer * inner;
  if (outputs == 0) return;
  if (reduce == 0) {
    DANLU_CUDA_CHECK(cudaMemsetAsync(y, 0, static_cast<size_t>(outputs) * sizeof(float), stream));
    return;
  }
  if (inner == 1 && reduce <= kWarpRowMax) {
    launch("sum_rows_warp", sum_rows_warp_kernel, blocks_for(outer, kWarpsPerBlock), kThreads, 0,
           stream, x, y, outer, reduce);
    return;
  }
  int64_t slices, slice_len;
  if (inner == 1) {
    slicing(reduce, outer, kMinRowSlice, &slices, &slice_len);
    sliced(y, outputs, slices, stream, [&](double* partial) {
      launch("sum_rows_block", sum_rows_block_kernel,
             dim3(static_cast<unsigned>(outer), static_cast<unsigned>(slices)), kThreads, 0,
             stream, x, y, partial, reduce, slice_len);
    });
    return;
  }
  int bx = 2;  // the smallest power of two >= inner, at most a warp
  while (bx < kWarpSize && bx < inner) bx *= 2;
  const int64_t tiles = (inner + bx - 1) / bx;
  slicing(reduce, outer * tiles, kMinColumnSlice, &slices, &slice_len);
  sliced(y, outputs, slices, stream, [&](double* partial) {
    launch("sum_columns", sum_columns_kernel,
           dim3(static_cast<unsigned>(outer * tiles), static_cast<unsigned>(slices)),
           dim3(bx, kThreads / bx), 0, stream, x, y, partial, reduce, inner, tiles, slice_len);
  });
}

void argmax_middle(const float* x, int64_t* y, int64_t outer, int64_t reduce, int64_t inner,
                   Stream stream) {
  if (outer * inner == 0 || reduce == 0) return;
  if (inner > 1) {
    launch("argmax_columns", argmax_columns_kernel, blocks_for(outer * inner, kThreads), kThreads,
           0, stream, x, y, outer, reduce, inner);
  } else if (reduce <= kWarpRowMax) {
    launch("argmax_rows_warp", argmax_rows_warp_kernel, blocks_for(outer, kWarpsPerBlock),
           kThreads, 0, stream, x, y, outer, reduce);
  } else {
    launch("argmax_rows_block", argmax_rows_block_kernel, static_cast<unsigned>(outer), kThreads,
           0, stream, x, y, reduce);
  }
}

}  // namespace danlu::kernels::cuda
