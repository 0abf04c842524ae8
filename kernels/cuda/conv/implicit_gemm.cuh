// A tiled FP32 GEMM whose operands are gathered rather than stored: per group
// g, C (rows x cols) = A (rows x depth) . B (depth x cols), where A and B are
// operand types that compute their elements from a convolution's tensors
// while a tile is loaded (the im2col matrix is never written). The three
// conv2d directions are three choices of A, B and the output
// (kernels/cuda/conv/3_implicit_gemm.cu).
//
// An operand type provides
//   static constexpr bool kAlongRows;   // true: consecutive rows are adjacent
//                                       // in memory, false: consecutive depth
//   struct Cursor { int64_t k; __device__ void advance(); ... };
//   __device__ Cursor start(int64_t row, int g, int64_t k) const;
//   __device__ float load(const Cursor&) const;   // element (row, k)
// where advance() moves the cursor kDepth further along the depth, so no
// operand divides per element. The output type provides
//   __device__ void store(int64_t row, int64_t col, int g, int split, float v) const;
#pragma once

#include <cstdint>
#include <string>

#include "engine/error.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/conv/gemm_grid.h"

namespace danlu::kernels::cuda::igemm {

// A block computes a kRows x kCols tile of C, consuming the depth kDepth at a
// time; each of its kThreads threads owns kMicro x kMicro values of the tile.
constexpr int kRows = 64, kCols = 64, kDepth = 8, kThreads = 256, kMicro = 4;
constexpr int kLanes = kRows / kMicro;  // threads across a tile's rows (and columns)
static_assert(kRows == kCols && kLanes * kLanes == kThreads,
              "a square tile, one micro-tile per thread");
static_assert(kRows * kDepth == 2 * kThreads, "each thread loads two elements per operand tile");
// Tiles are stored depth-major, tile[k][row]. The 4 padding floats make the
// depth-major stores (8 depths x 4 rows per warp) hit 32 distinct banks.
constexpr int kPitch = kRows + 4;

// The GEMM of one launch: the depth of each group is cut into `splits`
// slices of `slice` (a multiple of kDepth) reduced by separate blocks.
struct Size {
  int64_t rows = 0, cols = 0, depth = 0;
  int64_t slice = 0;
  int groups = 1, splits = 1;
};

// Where thread `tid`'s load r (0 or 1) lands in a kDepth x kRows tile.
// kAlongRows: 64 consecutive threads take 64 consecutive rows (coalesced
// where rows are adjacent in memory); otherwise 8 consecutive threads take 8
// consecutive depths.
template <bool kAlongRows>
__device__ inline void slot(int tid, int r, int& row, int& k) {
  if (kAlongRows) {
    row = tid % kRows;
    k = tid / kRows + r * (kThreads / kRows);
  } else {
    row = tid / kDepth + r * (kThreads / kDepth);
    k = tid % kDepth;
  }
}

// One thread's two loads of an operand's tiles, following the depth.
template <class Operand>
struct TileLoader {
  typename Operand::Cursor cursor[2];
  int row[2], k[2];
  bool live[2];  // the row exists

  __device__ TileLoader(const Operand& op, int64_t row0, int64_t rows, int g, int64_t k_begin,
                        int tid) {
    for (int r = 0; r < 2; ++r) {
      slot<Operand::kAlongRows>(tid, r, row[r], k[r]);
      live[r] = row0 + row[r] < rows;
      cursor[r] = op.start(live[r] ? row0 + row[r] : 0, g, k_begin + k[r]);
    }
  }
  // Reads the next tile's two elements (0 past the slice) into v.
  __device__ void load(const Operand& op, int64_t k_end, float (&v)[2]) {
    for (int r = 0; r < 2; ++r) {
      v[r] = live[r] && cursor[r].k < k_end ? op.load(cursor[r]) : 0.f;
      cursor[r].advance();
    }
  }
  __device__ void store(float (*tile)[kPitch], const float (&v)[2]) const {
    for (int r = 0; r < 2; ++r) tile[k[r]][row[r]] = v[r];
  }
};

// Each block computes the 64x64 tile (blockIdx.x, blockIdx.y) of C for group
// g = blockIdx.z % groups over the depth slice blockIdx.z / groups. Each
// thread accumulates rows tm + 16*i and columns tn + 16*j (tm = tid % 16,
// tn = tid / 16, i, j < 4) in registers, so that a warp's stores of one
// column cover 16 consecutive rows. Shared tiles are double-buffered: the
// next tile's global loads are in flight while the current one is
// multiplied, and one barrier per tile separates the two buffers' uses.
template <class A, class B, class Out>
__global__ void implicit_gemm(A a, B b, Out out, Size size) {
  __shared__ float a_tile[2][kDepth][kPitch];
  __shared__ float b_tile[2][kDepth][kPitch];
  const int tid = threadIdx.x;
  const int g = blockIdx.z % size.groups, split = blockIdx.z / size.groups;
  const int64_t row0 = int64_t(blockIdx.x) * kRows, col0 = int64_t(blockIdx.y) * kCols;
  const int64_t k_begin = split * size.slice;
  const int64_t k_end = k_begin + size.slice < size.depth ? k_begin + size.slice : size.depth;
  const int64_t tiles = k_end > k_begin ? (k_end - k_begin + kDepth - 1) / kDepth : 0;

  TileLoader<A> a_loader(a, row0, size.rows, g, k_begin, tid);
  TileLoader<B> b_loader(b, col0, size.cols, g, k_begin, tid);
  float a_next[2], b_next[2];
  a_loader.load(a, k_end, a_next);
  b_loader.load(b, k_end, b_next);
  a_loader.store(a_tile[0], a_next);
  b_loader.store(b_tile[0], b_next);
  __syncthreads();

  const int tm = tid % kLanes, tn = tid / kLanes;
  float acc[kMicro][kMicro] = {};
  for (int64_t t = 0; t < tiles; ++t) {
    const int cur = t & 1;
    const bool more = t + 1 < tiles;  // the same for every thread of the block
    if (more) {
      a_loader.load(a, k_end, a_next);
      b_loader.load(b, k_end, b_next);
    }
    for (int kk = 0; kk < kDepth; ++kk) {
      float av[kMicro], bv[kMicro];
      for (int i = 0; i < kMicro; ++i) av[i] = a_tile[cur][kk][tm + kLanes * i];
      for (int j = 0; j < kMicro; ++j) bv[j] = b_tile[cur][kk][tn + kLanes * j];
      for (int i = 0; i < kMicro; ++i)
        for (int j = 0; j < kMicro; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    // The other buffer was last read in iteration t - 1, before its barrier.
    if (more) {
      a_loader.store(a_tile[cur ^ 1], a_next);
      b_loader.store(b_tile[cur ^ 1], b_next);
    }
    __syncthreads();
  }

  for (int i = 0; i < kMicro; ++i) {
    const int64_t row = row0 + tm + kLanes * i;
    if (row >= size.rows) continue;
    for (int j = 0; j < kMicro; ++j) {
      const int64_t col = col0 + tn + kLanes * j;
      if (col < size.cols) out.store(row, col, g, split, acc[i][j]);
    }
  }
}

// Whether a GEMM of this size fits the grid run() launches: "" when it
// does, otherwise why not.
inline std::string grid_refusal(const Size& size) {
  return gemm_grid_refusal(size.rows, size.cols, size.groups, size.splits, kRows, kCols);
}

// Launches the GEMM on `stream`: a grid of row tiles x column tiles x
// (groups * splits), which grid_refusal(size) has accepted.
template <class A, class B, class Out>
void run(const char* name, const A& a, const B& b, const Out& out, const Size& size,
         Stream stream) {
  launch(name, implicit_gemm<A, B, Out>,
         dim3(blocks_for(size.rows, kRows), blocks_for(size.cols, kCols),
              static_cast<unsigned>(int64_t(size.groups) * size.splits)),
         dim3(kThreads), 0, stream, a, b, out, size);
}

}  // namespace danlu::kernels::cuda::igemm
