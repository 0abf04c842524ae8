// Layer norm on the GPU (f32). Rows are independent: a team of threads (one
// warp for rows up to kWarpRowMax elements, one block for longer rows) owns
// a row, folds it into Welford statistics, and writes it back normalised.
// The parameter gradients sum down columns instead, in two stages: partial
// sums per (column tile, chunk of rows), then a fixed-order sum per column.
#include "kernels/layernorm.h"

#include <algorithm>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/scratch.h"
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/cuda/welford.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;
// Parameter-gradient tiles: 32 columns (one coalesced row segment) by 8 row lanes.
constexpr int kColTile = 32;
constexpr int kRowLanes = 8;
constexpr int64_t kTargetBlocks = 1024;  // several per SM on a 132-SM H100

// One team per row m: Welford over the row's D values minus its first
// (thread `lane` takes d = lane, lane + team, ...), then y = (x - mean) * rstd * w + b over the
// same elements; thread 0 writes mean[m] and rstd[m]. A warp whose row is
// past M leaves at once; in block mode every row exists (grid = M), so all
// threads reach the block barriers.
template <bool WarpPerRow>
__global__ void forward_kernel(const float* x, const float* weight, const float* bias, float* y,
                               float* mean, float* rstd, int64_t M, int64_t D, double eps) {
  __shared__ Welford scratch[kWarpSize];
  const RowTeam<WarpPerRow> t = row_team<WarpPerRow>();
  if (t.row >= M) return;
  const float* xr = x + t.row * D;
  const float shift = D > 0 ? xr[0] : 0.0f;
  Welford w{};
  for (int64_t d = t.lane; d < D; d += t.size) welford_add(w, xr[d] - shift);
  w = team_welford<WarpPerRow>(w, scratch);
  const float mu = shift + w.mean;
  const float rs = static_cast<float>(1.0 / sqrt(static_cast<double>(w.m2) / D + eps));
  if (t.lane == 0) {
    mean[t.row] = mu;
    rstd[t.row] = rs;
  }
  float* yr = y + t.row * D;
  for (int64_t d = t.lane; d < D; d += t.size)
    yr[d] = (xr[d] - mu) * rs * (weight ? weight[d] : 1.0f) + (bias ? bias[d] : 0.0f);
}

// One team per row m (as forward_kernel): with g = dy * w and
// xhat = (x - mean) * rstd, the team sums g and g * xhat, then writes
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
template <bool WarpPerRow>
__global__ void dx_kernel(const float* dy, const float* x, const float* weight, const float* mean,
                          const float* rstd, float* dx, int64_t M, int64_t D) {
  __shared__ float scratch[kWarpSize];
  const RowTeam<WarpPerRow> t = row_team<WarpPerRow>();
  if (t.row >= M) return;
  const float* xr = x + t.row * D;
  const float* dyr = dy + t.row * D;
  const float mu = mean[t.row], rs = rstd[t.row];
  float sum_g = 0.0f, sum_g_xhat = 0.0f;
  for (int64_t d = t.lane; d < D; d += t.size) {
    const float g = dyr[d] * (weight ? weight[d] : 1.0f);
    sum_g += g;
    sum_g_xhat += g * (xr[d] - mu) * rs;
  }
  const float mean_g = team_reduce<WarpPerRow>(sum_g, Sum{}, 0.0f, scratch) / D;
  const float mean_g_xhat = team_reduce<WarpPerRow>(sum_g_xhat, Sum{}, 0.0f, scratch) / D;
  float* dxr = dx + t.row * D;
  for (int64_t d = t.lane; d < D; d += t.size) {
    const float g = dyr[d] * (weight ? weight[d] : 1.0f);
    dxr[d] = rs * (g - mean_g - (xr[d] - mu) * rs * mean_g_xhat);
  }
}

// Stage 1 of dweight and dbias. Block (j, k), threads (32, 8): column
// d = j * 32 + tx over the rows of chunk k; thread (tx, ty) sums dy and
// dy * xhat over rows ty, ty + 8, ... of the chunk (a warp reads 32
// neighbouring columns of one row), and thread (tx, 0) adds the 8 partial
// sums in ty order and writes partial[k * D + d]. Threads past D still reach
// the barrier.
__global__ void param_partial_kernel(const float* dy, const float* x, const float* mean,
                                     const float* rstd, float2* partial, int64_t M, int64_t D,
                                     int64_t rows_per_chunk) {
  __shared__ float2 tile[kRowLanes][kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t d = static_cast<int64_t>(blockIdx.x) * kColTile + tx;
  const int64_t begin = static_cast<int64_t>(blockIdx.y) * rows_per_chunk;
  const int64_t end = begin + rows_per_chunk < M ? begin + rows_per_chunk : M;
  float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
  if (d < D) {
    for (int64_t m = begin + ty; m < end; m += kRowLanes) {
      const float g = dy[m * D + d];
      sum_dy += g;
      sum_dy_xhat += g * (x[m * D + d] - mean[m]) * rstd[m];
    }
  }
  tile[ty][tx] = make_float2(sum_dy, sum_dy_xhat);
  __syncthreads();
  if (ty != 0 || d >= D) return;
  float2 sum = tile[0][tx];
  for (int r = 1; r < kRowLanes; ++r) {
    sum.x += tile[r][tx].x;
    sum.y += tile[r][tx].y;
  }
  partial[blockIdx.y * D + d] = sum;
}

// Stage 2: thread d adds column d's chunk partials in chunk order, in double.
__global__ void param_finalize_kernel(const float2* partial, int64_t chunks, int64_t D,
                                      float* dweight, float* dbias) {
  const int64_t d = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (d >= D) return;
  double sum_dy = 0.0, sum_dy_xhat = 0.0;
  for (int64_t k = 0; k < chunks; ++k) {
    sum_dy += partial[k * D + d].x;
    sum_dy_xhat += partial[k * D + d].y;
  }
  if (dweight) dweight[d] = static_cast<float>(sum_dy_xhat);
  if (dbias) dbias[d] = static_cast<float>(sum_dy);
}

void param_grads(const float* dy, const float* x, const float* mean, const float* rstd,
                 float* dweight, float* dbias, int64_t M, int64_t D, Stream stream) {
  if (M == 0) {  // sums over no rows
    if (dweight) DANLU_CUDA_CHECK(cudaMemsetAsync(dweight, 0, sizeof(float) * D, stream));
    if (dbias) DANLU_CUDA_CHECK(cudaMemsetAsync(dbias, 0, sizeof(float) * D, stream));
    return;
  }
  // Chunks of rows so that column tiles times chunks is about kTargetBlocks,
  // each chunk at least one row per row lane. A function of the shape only.
  const int64_t col_tiles = (D + kColTile - 1) / kColTile;
  const int64_t wanted = std::clamp<int64_t>((kTargetBlocks + col_tiles - 1) / col_tiles, 1,
                                             (M + kRowLanes - 1) / kRowLanes);
  const int64_t rows_per_chunk = (M + wanted - 1) / wanted;
  const int64_t chunks = (M + rows_per_chunk - 1) / rows_per_chunk;  // none of them empty
  const Scratch workspace(sizeof(float2) * chunks * D);
  auto* partial = workspace.data<float2>();
  launch("layernorm_param_partial", param_partial_kernel,
         dim3(static_cast<unsigned>(col_tiles), static_cast<unsigned>(chunks)),
         dim3(kColTile, kRowLanes), 0, stream, dy, x, mean, rstd, partial, M, D, rows_per_chunk);
  launch("layernorm_param_finalize", param_finalize_kernel, dim3(blocks_for(D, kThreads)),
         dim3(kThreads), 0, stream, partial, chunks, D, dweight, dbias);
}

}  // namespace

void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t M, int64_t D, double eps,
                       Stream stream) {
  const bool warp_rows = D <= kWarpRowMax;
  const dim3 grid = row_grid(M, warp_rows, kThreads);
  if (warp_rows)
    launch("layernorm_forward_warp", forward_kernel<true>, grid, dim3(kThreads), 0, stream, x,
           weight, bias, y, mean, rstd, M, D, eps);
  else
    launch("layernorm_forward_block", forward_kernel<false>, grid, dim3(kThreads), 0, stream, x,
           weight, bias, y, mean, rstd, M, D, eps);
}

void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t M,
                        int64_t D, Stream stream) {
  const bool warp_rows = D <= kWarpRowMax;
  const dim3 grid = row_grid(M, warp_rows, kThreads);
  if (dx && warp_rows)
    launch("layernorm_dx_warp", dx_kernel<true>, grid, dim3(kThreads), 0, stream, dy, x, weight,
           mean, rstd, dx, M, D);
  else if (dx)
    launch("layernorm_dx_block", dx_kernel<false>, grid, dim3(kThreads), 0, stream, dy, x,
           weight, mean, rstd, dx, M, D);
  if ((dweight || dbias) && D > 0) param_grads(dy, x, mean, rstd, dweight, dbias, M, D, stream);
}

}  // namespace danlu::kernels::cuda
