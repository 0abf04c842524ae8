// The scaled, masked softmax of attention scores on the GPU (f32), one launch
// each way instead of a scale, a mask add and a softmax pass. A team (a warp
// for rows of up to 1024 keys, else a block; see RowTeam) owns one row of
// scores; thread `lane` of it takes the columns lane, lane + team, ...
#include "kernels/attention_softmax.h"

#include <algorithm>
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;

// One team per row r: z_k = scale * x[r, k] + mask[r % mask_rows, k] is
// formed on the fly (never stored); the team finds max_k z and
// sum_k exp(z_k - max), then writes y = exp(z - max) / sum. A row masked
// everywhere (max = -inf) gets zeros. A warp past the last row leaves at
// once; in block mode every row exists.
template <bool WarpPerRow>
__global__ void forward_kernel(const float* x, const float* mask, float* y, int64_t rows,
                               int64_t cols, int64_t mask_rows, float scale) {
  __shared__ float scratch[kWarpSize];
  const RowTeam<WarpPerRow> t = row_team<WarpPerRow>();
  if (t.row >= rows) return;
  const float* xr = x + t.row * cols;
  const float* mr = mask ? mask + (t.row % mask_rows) * cols : nullptr;
  float* yr = y + t.row * cols;
  float max = -INFINITY;
  for (int64_t k = t.lane; k < cols; k += t.size)
    max = fmaxf(max, scale * xr[k] + (mr ? mr[k] : 0.0f));
  max = team_reduce<WarpPerRow>(max, Max{}, -INFINITY, scratch);
  if (max == -INFINITY) {
    for (int64_t k = t.lane; k < cols; k += t.size) yr[k] = 0.0f;
    return;
  }
  float sum = 0.0f;
  for (int64_t k = t.lane; k < cols; k += t.size)
    sum += expf(scale * xr[k] + (mr ? mr[k] : 0.0f) - max);
  sum = team_reduce<WarpPerRow>(sum, Sum{}, 0.0f, scratch);
  for (int64_t k = t.lane; k < cols; k += t.size)
    yr[k] = expf(scale * xr[k] + (mr ? mr[k] : 0.0f) - max) / sum;
}

// One team per row: dot = sum_k dy_k y_k, then dx = scale * y * (dy - dot).
template <bool WarpPerRow>
__global__ void backward_kernel(const float* y, const float* dy, float* dx, int64_t rows,
                                int64_t cols, float scale) {
  __shared__ float scratch[kWarpSize];
  const RowTeam<WarpPerRow> t = row_team<WarpPerRow>();
  if (t.row >= rows) return;
  const int64_t base = t.row * cols;
  float dot = 0.0f;
  for (int64_t k = t.lane; k < cols; k += t.size) dot += dy[base + k] * y[base + k];
  dot = team_reduce<WarpPerRow>(dot, Sum{}, 0.0f, scratch);
  for (int64_t k = t.lane; k < cols; k += t.size) {
    const int64_t j = base + k;
    dx[j] = scale * y[j] * (dy[j] - dot);
  }
}

// Each thread converts elements i, i + S, i + 2S, ... (S threads in the
// grid): -inf where the boolean mask drops a key, 0 where it keeps it.
__global__ void boolean_to_additive_kernel(const int64_t* drop, float* additive, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride)
    additive[i] = drop[i] != 0 ? -INFINITY : 0.0f;
}

}  // namespace

void scaled_masked_softmax_forward(const float* x, const float* mask, float* y, int64_t rows,
                                   int64_t cols, int64_t mask_rows, float scale, Stream stream) {
  if (cols == 0) return;
  const bool warp_rows = cols <= kWarpRowMax;
  const dim3 grid = row_grid(rows, warp_rows, kThreads);
  if (warp_rows)
    launch("scaled_masked_softmax_forward_warp", forward_kernel<true>, grid, dim3(kThreads), 0,
           stream, x, mask, y, rows, cols, mask_rows, scale);
  else
    launch("scaled_masked_softmax_forward_block", forward_kernel<false>, grid, dim3(kThreads), 0,
           stream, x, mask, y, rows, cols, mask_rows, scale);
}

void scaled_masked_softmax_backward(const float* y, const float* dy, float* dx, int64_t rows,
                                    int64_t cols, float scale, Stream stream) {
  if (cols == 0) return;
  const bool warp_rows = cols <= kWarpRowMax;
  const dim3 grid = row_grid(rows, warp_rows, kThreads);
  if (warp_rows)
    launch("scaled_masked_softmax_backward_warp", backward_kernel<true>, grid, dim3(kThreads), 0,
           stream, y, dy, dx, rows, cols, scale);
  else
    launch("scaled_masked_softmax_backward_block", backward_kernel<false>, grid, dim3(kThreads),
           0, stream, y, dy, dx, rows, cols, scale);
}

void boolean_to_additive_mask(const int64_t* drop, float* additive, int64_t n, Stream stream) {
  if (n <= 0) return;
  constexpr int64_t kMaxBlocks = 4096;  // enough to fill the GPU; the loop covers the rest
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks);
  launch("boolean_to_additive_mask", boolean_to_additive_kernel,
         dim3(static_cast<unsigned>(blocks)), dim3(kThreads), 0, stream, drop, additive, n);
}

}  // namespace danlu::kernels::cuda
