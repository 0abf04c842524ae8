// Rung 4's GEMM skeleton (kernels/cuda/conv/4_register_blocked.cu): per
// group g, C (rows x cols) = A (rows x depth) . B (depth x cols) with A and B
// gathered from a convolution's tensors straight into shared memory by
// cp.async, a 3-stage pipeline, and 8x8 or 8x4 register micro-tiles fed by
// 128-bit shared loads. The operands are loader types, one object per
// thread:
//   template <class T> struct Loader {      // T: the Tile below
//     struct Params { ... };                 // what the launch passes
//     __device__ Loader(const Params&, int64_t first_row_or_col, int g, int split, int tid);
//     __device__ void load(const Params&, float* tile);  // the next stage's cp.asyncs
//   };
// A fills a kDepth x kRows tile, B a kDepth x T::kCols one, both depth-major
// (tile[k][row]) so that a thread's 8 rows (or columns) at one depth are two
// float4s. Each load() moves its loader one stage further along the depth.
// The output type provides
//   __device__ int64_t row(int64_t r) const;   // where row r starts, -1 past the end
//   __device__ void store(int64_t row_start, int64_t col, int g, int split, float v) const;
#pragma once

#include <cstdint>
#include <string>

#include "engine/error.h"
#include "kernels/cuda/async_copy.cuh"
#include "kernels/cuda/conv/gemm_grid.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/unroll.cuh"  // the depth loop of a stage unrolls in full

namespace danlu::kernels::cuda::rb {

// A block's tile is kRows rows by Tile::kCols columns; the depth goes
// kDepth per pipeline stage, kStages stages in flight.
constexpr int kRows = 128, kDepth = 16, kStages = 3;
constexpr int kMicroRows = 8;                  // rows per thread
constexpr int kRowLanes = kRows / kMicroRows;  // threads across a tile's rows

// The column widths a block tile comes in: 16, 32, 64 or 128, chosen per
// layer from the channel counts. Narrow tiles keep 8 x 4 micro-tiles, wide
// ones 8 x 8; the threads follow (64 to 256).
template <int Cols>
struct Tile {
  static constexpr int kCols = Cols;
  static constexpr int kMicroCols = Cols >= 64 ? 8 : 4;
  static constexpr int kColLanes = Cols / kMicroCols;
  static constexpr int kThreads = kRowLanes * kColLanes;
  static_assert(Cols == 16 || Cols == 32 || Cols == 64 || Cols == 128, "a tile width");
  static_assert(kThreads % kDepth == 0 && (kThreads % kRows == 0 || kRows % kThreads == 0),
                "loaders split tiles evenly");
};

// The GEMM of one launch: groups x splits blocks along z, each running
// `stages` pipeline stages of its depth.
struct Size {
  int64_t rows = 0, cols = 0;
  int64_t stages = 0;
  int groups = 1, splits = 1;
};

__device__ inline void load4(float* v, const float* p) {
  const float4 q = *reinterpret_cast<const float4*>(p);
  v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
}

// Each block computes the kRows x kCols tile (blockIdx.x, blockIdx.y) of C
// for group g = blockIdx.z % groups over depth slice blockIdx.z / groups.
// Thread (tm, tn) = (tid % 16, tid / 16) owns rows 4 tm + {0..3} and
// 64 + 4 tm + {0..3}, and columns 4 tn + {0..3} (and kCols / 2 + 4 tn +
// {0..3} for 8-wide micro-tiles): at each depth its rows are two float4s of
// the A tile, its columns one or two float4s of the B tile, and a warp's 16
// row lanes read 256 consecutive bytes (no bank conflicts; the two column
// lanes of a warp read broadcasts). The stage ring: while stage t is
// multiplied, stages t + 1 and t + 2 are in flight; the wait-plus-barrier at
// the top of each iteration both lands stage t for every thread and retires
// the reads of the buffer that the new stage t + 2 overwrites.
template <class T, template <class> class A, template <class> class B, class Out>
__global__ void __launch_bounds__(T::kThreads)
    register_blocked_gemm(typename A<T>::Params a, typename B<T>::Params b, Out out, Size size) {
  __shared__ __align__(16) float a_tile[kStages][kDepth][kRows];
  __shared__ __align__(16) float b_tile[kStages][kDepth][T::kCols];
  const int tid = threadIdx.x;
  const int g = blockIdx.z % size.groups, split = blockIdx.z / size.groups;
  const int64_t row0 = int64_t(blockIdx.x) * kRows, col0 = int64_t(blockIdx.y) * T::kCols;
  A<T> a_loader(a, row0, g, split, tid);
  B<T> b_loader(b, col0, g, split, tid);

  const int stages = int(size.stages);
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < stages) {
      a_loader.load(a, &a_tile[s][0][0]);
      b_loader.load(b, &b_tile[s][0][0]);
    }
    cp_async_commit();
  }

  const int tm = tid % kRowLanes, tn = tid / kRowLanes;
  float acc[kMicroRows][T::kMicroCols] = {};
  int current = 0, refill = kStages - 1;  // buffers of stage t and of stage t + kStages - 1
  for (int t = 0; t < stages; ++t) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    if (t + kStages - 1 < stages) {
      a_loader.load(a, &a_tile[refill][0][0]);
      b_loader.load(b, &b_tile[refill][0][0]);
    }
    cp_async_commit();  // every iteration commits a group, empty or not
    DANLU_UNROLL
    for (int k = 0; k < kDepth; ++k) {
      float av[kMicroRows], bv[T::kMicroCols];
      load4(av, &a_tile[current][k][4 * tm]);
      load4(av + 4, &a_tile[current][k][kRows / 2 + 4 * tm]);
      load4(bv, &b_tile[current][k][4 * tn]);
      if (T::kMicroCols == 8) load4(bv + 4, &b_tile[current][k][T::kCols / 2 + 4 * tn]);
      for (int i = 0; i < kMicroRows; ++i)
        for (int j = 0; j < T::kMicroCols; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    current = current == kStages - 1 ? 0 : current + 1;
    refill = refill == kStages - 1 ? 0 : refill + 1;
  }
  cp_async_wait<0>();

  for (int i = 0; i < kMicroRows; ++i) {
    const int64_t start = out.row(row0 + (i < 4 ? 0 : kRows / 2) + 4 * tm + i % 4);
    if (start < 0) continue;
    for (int j = 0; j < T::kMicroCols; ++j) {
      const int64_t col = col0 + (j < 4 ? 0 : T::kCols / 2) + 4 * tn + j % 4;
      if (col < size.cols) out.store(start, col, g, split, acc[i][j]);
    }
  }
}

// Whether a GEMM of this size fits the grid run() launches: "" when it
// does, otherwise why not.
template <class T>
std::string grid_refusal(const Size& size) {
  if (size.stages > 0x7fffffff)
    return detail::concat(size.stages, " pipeline stages per block exceed 2^31 - 1");
  return gemm_grid_refusal(size.rows, size.cols, size.groups, size.splits, kRows, T::kCols);
}

// Launches the GEMM on `stream`: a grid of row tiles x column tiles x
// (groups * splits) blocks of T::kThreads threads.
template <class T, template <class> class A, template <class> class B, class Out>
void run(const char* name, const typename A<T>::Params& a, const typename B<T>::Params& b,
         const Out& out, const Size& size, Stream stream) {
  launch(name, register_blocked_gemm<T, A, B, Out>,
         dim3(blocks_for(size.rows, kRows), blocks_for(size.cols, T::kCols),
              static_cast<unsigned>(int64_t(size.groups) * size.splits)),
         dim3(T::kThreads), 0, stream, a, b, out, size);
}

}  // namespace danlu::kernels::cuda::rb
