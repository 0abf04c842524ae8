// The TF32 tensor-core GEMM behind rung 5 (5_tf32_tensor_core.cu): per group
// g, C (rows x cols) = A (rows x depth) . B (depth x cols), where A and B
// are operand types that give the offset of each element of their matrix
// in a convolution's tensor (or none: a zero of the padding), and the
// staging copies them into shared memory with cp.async. Products run on
// mma.sync m16n8k8 (kernels/cuda/mma_tf32.cuh), FP32 accumulation.
//
// An operand type provides
//   static constexpr bool kAlongRows;  // true: consecutive rows are adjacent in
//                                      // memory; false: consecutive depths are
//   static constexpr int kVector;      // 4: four depths k..k+3 (k % 4 == 0) of a
//                                      // row are adjacent and 16-byte aligned
//                                      // (only where !kAlongRows); otherwise 1
//   const float* data;                 // the tensor the offsets are into
//   struct Row;                        // what the offsets of one row need
//   __device__ Row row(int64_t r, int g) const;
//   __device__ Digits depth(int64_t k, int step) const;  // k as this operand's digits
//   __device__ int offset(const Row&, const Digits&) const;  // of element (r, k); -1: a zero
// and the output type provides
//   __device__ float* row(int64_t r, int g, int split) const;  // where C[r][0] goes
//   int64_t stride;                      // floats from C[r][c] to C[r][c + 1]
//   __device__ float add(int g, int64_t c) const;  // added to column c (a bias, or 0)
// Offsets are ints (rung 5 refuses tensors of 2^31 or more elements), and
// -1 rather than a null pointer marks a zero: the copies' arithmetic stays
// 32-bit and free of branches.
#pragma once

#include <cstdint>
#include <string>

#include "engine/error.h"
#include "kernels/cuda/async_copy.cuh"
#include "kernels/cuda/conv/gemm_grid.h"
#include "kernels/cuda/conv/geometry.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/mma_tf32.cuh"
#include "kernels/cuda/unroll.cuh"

namespace danlu::kernels::cuda::tf32 {

// A block computes a kRows x kCols tile of C with kThreads threads: 4 warps
// in a 2 x 2 grid, each warp a kWarpRows x kWarpCols tile made of
// kMmaRows x kMmaCols = 2 x 4 mma tiles of 16 x 8. The depth is consumed
// kStage at a time (two mma steps of 8), through kStages shared buffers.
constexpr int kRows = 64, kCols = 64, kStage = 16, kStages = 3, kThreads = 128;
constexpr int kWarpRows = 32, kWarpCols = 32, kMmaRows = kWarpRows / 16, kMmaCols = kWarpCols / 8;
static_assert((kRows / kWarpRows) * (kCols / kWarpCols) * 32 == kThreads, "one warp per warp tile");

// The GEMM of one launch: the depth of each group is cut into `splits`
// slices of `slice` (a multiple of kStage) reduced by separate blocks.
struct Size {
  int64_t rows = 0, cols = 0, depth = 0;
  int64_t slice = 0;
  int groups = 1, splits = 1;
};

// How a 64 x kStage operand tile lies in shared memory. Each operand is
// stored in the order its memory has, so that the copies of a warp are
// coalesced; the padding makes the fragment loads of a warp (lane 4q + t
// reads row q, depth t, below) hit 32 distinct banks:
// - rows adjacent (kAlongRows): tile[k][row], pitch 72: t*72 + q = 8t + q (mod 32);
// - depths adjacent: tile[row][k], pitch 20: q*20 + t, which for q < 8 and
//   t < 4 is 32 distinct residues mod 32; the pitch is 80 bytes, so a
//   16-byte copy of 4 depths stays aligned.
template <bool kAlongRows>
struct Layout {
  static constexpr int kPitch = kAlongRows ? kRows + 8 : kStage + 4;
  static constexpr int kSize = kAlongRows ? kStage * kPitch : kRows * kPitch;
  __device__ static int at(int row, int k) {
    return kAlongRows ? k * kPitch + row : row * kPitch + k;
  }
};

// One thread's share of the copies of an operand's tiles, following the
// depth. Rows adjacent: thread tid takes row tid % 64 and the depths
// tid / 64 + 2r (r < 8), so a warp copies 32 consecutive rows of one depth
// with 4-byte copies, and one Digits counter stepping by 2 walks them.
template <class Op, bool kAlongRows = Op::kAlongRows>
struct Stager {
  static constexpr int kCopies = kRows * kStage / kThreads;
  typename Op::Row row_of;
  bool live;  // the row exists
  int row, k_first;
  int k;  // the depth of the next copy
  Digits d;

  __device__ Stager(const Op& op, int64_t row0, int64_t rows, int g, int k_begin, int tid) {
    row = tid % kRows;
    k_first = tid / kRows;
    live = row0 + row < rows;
    row_of = op.row(live ? row0 + row : 0, g);
    k = k_begin + k_first;
    d = op.depth(k, 2);
  }
  // Issues the copies of the next tile into `tile` (zeros past the row
  // count and past k_end).
  __device__ void copy(const Op& op, int k_end, float* tile) {
    DANLU_UNROLL
    for (int r = 0; r < kCopies; ++r) {
      const int off = live && k < k_end ? op.offset(row_of, d) : -1;
      float* dst = tile + Layout<true>::at(row, k_first + 2 * r);
      cp_async_4_zfill(dst, op.data + (off < 0 ? 0 : off), off < 0 ? 0 : 4);
      k += 2;
      d.step();
    }
  }
};

// Depths adjacent: thread tid takes the kVector depths from
// (tid % kAcross) * kVector and the rows tid / kAcross + kDown * r, so
// that a warp copies runs of kStage consecutive depths of 2 (or, with
// 16-byte copies, 8) rows. All rows of a thread share one depth counter,
// which steps by kStage per tile.
template <class Op>
struct Stager<Op, false> {
  static constexpr int kVector = Op::kVector;
  static constexpr int kAcross = kStage / kVector, kDown = kThreads / kAcross;
  static constexpr int kCopies = kRows / kDown;
  typename Op::Row row_of[kCopies];
  unsigned live = 0;  // bit r: row r exists
  int row0_in_tile, k_first;
  int k;
  Digits d;

  __device__ Stager(const Op& op, int64_t row0, int64_t rows, int g, int k_begin, int tid) {
    row0_in_tile = tid / kAcross;
    k_first = tid % kAcross * kVector;
    DANLU_UNROLL
    for (int r = 0; r < kCopies; ++r) {
      const int64_t row = row0 + row0_in_tile + kDown * r;
      if (row < rows) live |= 1u << r;
      row_of[r] = op.row(row < rows ? row : 0, g);
    }
    k = k_begin + k_first;
    d = op.depth(k, kStage);
  }
  __device__ void copy(const Op& op, int k_end, float* tile) {
    const int left = k_end - k;  // depths of this thread's run inside the slice
    const int valid = left <= 0 ? 0 : left >= kVector ? kVector : left;
    DANLU_UNROLL
    for (int r = 0; r < kCopies; ++r) {
      float* dst = tile + Layout<false>::at(row0_in_tile + kDown * r, k_first);
      const int off = valid > 0 && (live >> r & 1u) ? op.offset(row_of[r], d) : -1;
      const float* src = op.data + (off < 0 ? 0 : off);
      if (kVector == 4)
        cp_async_16_zfill(dst, src, off < 0 ? 0 : 4 * valid);
      else
        cp_async_4_zfill(dst, src, off < 0 ? 0 : 4);
    }
    k += kStage;
    d.step();
  }
};

// Each block computes the 64x64 tile (blockIdx.x, blockIdx.y) of C for group
// g = blockIdx.z % groups over the depth slice blockIdx.z / groups. Warp w
// owns rows 32 (w % 2) to + 32 and columns 32 (w / 2) to + 32 of the tile,
// 2 x 4 mma tiles of 16 x 8. In each, lane 4q + t (q = groupID, t =
// threadID_in_group) holds C rows q and q + 8, columns 2t and 2t + 1, and
// feeds A rows q and q + 8 at depths t and t + 4 and B column q at depths t
// and t + 4 (mma_tf32.cuh's table), read from shared memory and rounded to
// TF32 as they are loaded. Pipeline: tiles t + 1 and t + 2 are in flight
// (cp.async groups) while tile t is multiplied; one barrier per tile
// makes its copies visible and frees the buffer the next copies overwrite.
template <class A, class B, class Out>
__global__ void __launch_bounds__(kThreads) tf32_gemm(A a, B b, Out out, Size size) {
  using LayoutA = Layout<A::kAlongRows>;
  using LayoutB = Layout<B::kAlongRows>;
  __shared__ __align__(16) float a_tiles[kStages][LayoutA::kSize];
  __shared__ __align__(16) float b_tiles[kStages][LayoutB::kSize];
  const int tid = threadIdx.x;
  const int g = blockIdx.z % size.groups, split = blockIdx.z / size.groups;
  const int64_t row0 = int64_t(blockIdx.x) * kRows, col0 = int64_t(blockIdx.y) * kCols;
  // Depths are ints: the operands' tensors have fewer than 2^31 elements.
  const int k_begin = int(split * size.slice);
  const int k_end = int(k_begin + size.slice < size.depth ? k_begin + size.slice : size.depth);
  const int tiles = k_end > k_begin ? (k_end - k_begin + kStage - 1) / kStage : 0;

  Stager<A> a_stager(a, row0, size.rows, g, k_begin, tid);
  Stager<B> b_stager(b, col0, size.cols, g, k_begin, tid);
  // Every stage commits one group, empty or not, so that wait<kStages - 2>
  // always means "tile t has landed".
  DANLU_UNROLL
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < tiles) {
      a_stager.copy(a, k_end, a_tiles[s]);
      b_stager.copy(b, k_end, b_tiles[s]);
    }
    cp_async_commit();
  }

  const int lane = tid % 32, warp = tid / 32;
  const int q = lane / 4, t = lane % 4;
  const int warp_row = kWarpRows * (warp % 2), warp_col = kWarpCols * (warp / 2);
  float acc[kMmaRows][kMmaCols][4] = {};
  for (int tile = 0; tile < tiles; ++tile) {
    cp_async_wait<kStages - 2>();
    __syncthreads();  // tile's copies from every thread have landed; tile - 1's reads are done
    const int next = tile + kStages - 1;
    if (next < tiles) {
      a_stager.copy(a, k_end, a_tiles[next % kStages]);
      b_stager.copy(b, k_end, b_tiles[next % kStages]);
    }
    cp_async_commit();

    const float* at = a_tiles[tile % kStages];
    const float* bt = b_tiles[tile % kStages];
    DANLU_UNROLL
    for (int kk = 0; kk < kStage; kk += 8) {
      uint32_t af[kMmaRows][4], bf[kMmaCols][2];
      DANLU_UNROLL
      for (int i = 0; i < kMmaRows; ++i) {
        const int r = warp_row + 16 * i + q;
        af[i][0] = to_tf32(at[LayoutA::at(r, kk + t)]);
        af[i][1] = to_tf32(at[LayoutA::at(r + 8, kk + t)]);
        af[i][2] = to_tf32(at[LayoutA::at(r, kk + t + 4)]);
        af[i][3] = to_tf32(at[LayoutA::at(r + 8, kk + t + 4)]);
      }
      DANLU_UNROLL
      for (int j = 0; j < kMmaCols; ++j) {
        const int c = warp_col + 8 * j + q;
        bf[j][0] = to_tf32(bt[LayoutB::at(c, kk + t)]);
        bf[j][1] = to_tf32(bt[LayoutB::at(c, kk + t + 4)]);
      }
      DANLU_UNROLL
      for (int i = 0; i < kMmaRows; ++i) {
        DANLU_UNROLL
        for (int j = 0; j < kMmaCols; ++j) mma_m16n8k8_tf32(acc[i][j], af[i], bf[j], acc[i][j]);
      }
    }
  }
  // Only empty groups are still committed: no copy outlives the loop.
  DANLU_UNROLL
  for (int i = 0; i < kMmaRows; ++i) {
    DANLU_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int64_t row = row0 + warp_row + 16 * i + q + 8 * h;
      if (row >= size.rows) continue;
      float* dst = out.row(row, g, split);
      DANLU_UNROLL
      for (int j = 0; j < kMmaCols; ++j) {
        DANLU_UNROLL
        for (int e = 0; e < 2; ++e) {
          const int64_t col = col0 + warp_col + 8 * j + 2 * t + e;
          if (col < size.cols) dst[col * out.stride] = acc[i][j][2 * h + e] + out.add(g, col);
        }
      }
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
  static_assert(A::kAlongRows || A::kVector == 1 || A::kVector == 4, "1 or 4 depths per copy");
  static_assert(B::kAlongRows || B::kVector == 1 || B::kVector == 4, "1 or 4 depths per copy");
  launch(name, tf32_gemm<A, B, Out>,
         dim3(blocks_for(size.rows, kRows), blocks_for(size.cols, kCols),
              static_cast<unsigned>(int64_t(size.groups) * size.splits)),
         dim3(kThreads), 0, stream, a, b, out, size);
}

}  // namespace danlu::kernels::cuda::tf32
