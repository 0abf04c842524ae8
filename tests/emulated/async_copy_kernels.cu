// The kernels of async_copy_kernels.h.
#include "tests/emulated/async_copy_kernels.h"

#include "kernels/cuda/async_copy.cuh"

namespace danlu::testing {

using kernels::cuda::cp_async_16;
using kernels::cuda::cp_async_16_zfill;
using kernels::cuda::cp_async_4;
using kernels::cuda::cp_async_4_zfill;
using kernels::cuda::cp_async_commit;
using kernels::cuda::cp_async_wait;
using kernels::cuda::cp_async_wait_all;

constexpr int kTileFloats = kTileRows * kTileCols;

// Thread t copies 16 bytes of every tile: row t / 16, floats 4 (t % 16) and on.
// Tile i lands in stage i % 3; while the block sums tile i, tiles i + 1 and
// i + 2 are in flight. Per iteration: wait until tile i has landed (at most
// one younger group in flight), a barrier (everyone's part of tile i is
// visible, and everyone has finished summing tile i - 1, whose stage the
// next copy reuses), issue tile i + 2, sum column t of tile i.
__global__ void pipelined_column_sums(const float* in, float* out, int tiles, int bug) {
  __shared__ __align__(16) float stage[kStages][kTileRows][kTileCols];
  const int t = threadIdx.x;
  const int row = t / 16, col = t % 16 * 4;
  const float* block_in = in + static_cast<size_t>(blockIdx.x) * tiles * kTileFloats;
  for (int i = 0; i < kStages - 1; ++i) {
    if (i < tiles)
      cp_async_16(&stage[i % kStages][row][col],
                  block_in + i * kTileFloats + row * kTileCols + col);
    cp_async_commit();  // an empty group past the last tile keeps the count uniform
  }
  for (int i = 0; i < tiles; ++i) {
    if (bug == kWaitOneGroupShort)
      cp_async_wait<kStages - 1>();
    else
      cp_async_wait<kStages - 2>();
    __syncthreads();
    const int next = i + kStages - 1;
    if (next < tiles)
      cp_async_16(&stage[next % kStages][row][col],
                  block_in + next * kTileFloats + row * kTileCols + col);
    cp_async_commit();
    float sum = 0.0f;
    for (int r = 0; r < kTileRows; ++r) sum += stage[i % kStages][r][t];
    out[(static_cast<size_t>(blockIdx.x) * tiles + i) * kTileCols + t] = sum;
  }
}

// One thread per 16-byte chunk and per float; each reads its right
// neighbour's staging after the barrier.
__global__ void zero_fill(const float* in, float* out16, float* out4) {
  __shared__ __align__(16) float wide[32][4];
  __shared__ float narrow[32];
  const int t = threadIdx.x;
  cp_async_16_zfill(wide[t], in + 4 * t, t % 17);
  cp_async_4_zfill(&narrow[t], in + 7 * t % 128, t % 2 == 0 ? 4 : 0);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();
  const int from = (t + 1) % 32;
  for (int i = 0; i < 4; ++i) out16[4 * t + i] = wide[from][i];
  out4[t] = narrow[from];
}

// One thread per gathered float.
__global__ void gather_floats(const float* in, const int* index, float* out, int n) {
  __shared__ float staged[64];
  const int t = threadIdx.x;
  if (t < n) cp_async_4(&staged[t], in + index[t]);
  cp_async_wait_all();
  __syncthreads();
  if (t < n) out[t] = staged[n - 1 - t];
}

// One thread per slot. The slots are written and fenced by a barrier first,
// as a pipeline's stage is after its first round.
__global__ void read_neighbour_copy(const float* in, float* out, int barriers) {
  __shared__ float slots[64];
  const int t = threadIdx.x;
  slots[t] = -1.0f;
  __syncthreads();
  cp_async_4(&slots[t], in + t);
  cp_async_commit();
  if (barriers & kBarrierBeforeWait) __syncthreads();
  cp_async_wait<0>();
  if (barriers & kBarrierAfterWait) __syncthreads();
  out[t] = slots[t > 0 ? t - 1 : 0];
}

// One thread per slot: the reuse of a stage whose old contents others read,
// with the copy landing only after a later barrier, as in a pipeline.
__global__ void refill_after_read(const float* in, float* out, bool barrier) {
  __shared__ float slots[64];
  const int t = threadIdx.x;
  slots[t] = -1.0f;
  __syncthreads();
  const float old = slots[(t + 1) % 64];
  if (barrier) __syncthreads();
  cp_async_4(&slots[t], in + t);
  cp_async_commit();
  __syncthreads();  // the copy may still be in flight here
  cp_async_wait<0>();
  __syncthreads();
  out[t] = old + slots[(t + 1) % 64];
}

// One thread per slot; the slot held a value, so only the in-flight check
// can see the bug.
__global__ void read_before_wait(const float* in, float* out) {
  __shared__ float slots[64];
  const int t = threadIdx.x;
  slots[t] = -1.0f;
  __syncthreads();
  cp_async_4(&slots[t], in + t);
  cp_async_commit();
  out[t] = slots[t];  // the bug: cp_async_wait<0>() belongs before this read
  cp_async_wait<0>();
}

// One thread, one copy.
__global__ void misused_copy(const float* in, float* global_out, int misuse) {
  __shared__ __align__(16) float tile[4];
  switch (misuse) {
    case kUnalignedSource: cp_async_16(tile, in + 1); break;
    case kSourceOutOfRange: cp_async_16(tile, in + 4); break;
    case kTooManySourceBytes: cp_async_16_zfill(tile, in, 17); break;
    default: cp_async_4(global_out, in); break;
  }
  cp_async_wait_all();
}

}  // namespace danlu::testing
