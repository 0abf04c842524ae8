// Softmax and log-softmax on the GPU (f32). Each row is read three times
// (max, sum of exp(x - max), output); the second and third reads come from
// cache for rows of the sizes softmax sees. Along the last axis a team (warp
// or block, RowTeam) shares a contiguous row; along another axis each thread
// walks one strided row, so a warp reads 32 neighbouring columns at a time.
#include "kernels/softmax.h"

#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;

// One team per contiguous row of `dim` values (thread `lane` takes
// k = lane, lane + team, ...): the team's max and sum of exp(x - max), then
// y = exp(x - max) / sum, or (x - max) - log(sum) when Log. A warp past the
// last row leaves at once; in block mode every row exists.
template <bool WarpPerRow, bool Log>
__global__ void forward_rows_kernel(const float* x, float* y, int64_t rows, int64_t dim) {
  __shared__ float scratch[kWarpSize];
  const RowTeam<WarpPerRow> t = row_team<WarpPerRow>();
  if (t.row >= rows) return;
  const float* xr = x + t.row * dim;
  float* yr = y + t.row * dim;
  float max = -INFINITY;
  for (int64_t k = t.lane; k < dim; k += t.size) max = fmaxf(max, xr[k]);
  max = team_reduce<WarpPerRow>(max, Max{}, -INFINITY, scratch);
  float sum = 0.0f;
  for (int64_t k = t.lane; k < dim; k += t.size) sum += expf(xr[k] - max);
  sum = team_reduce<WarpPerRow>(sum, Sum{}, 0.0f, scratch);
  if constexpr (Log) {
    const float log_sum = logf(sum);
    for (int64_t k = t.lane; k < dim; k += t.size) yr[k] = (xr[k] - max) - log_sum;
  } else {
    for (int64_t k = t.lane; k < dim; k += t.size) yr[k] = expf(xr[k] - max) / sum;
  }
}

// One thread per (o, i): the same three passes over x[o, :, i] (stride inner).
template <bool Log>
__global__ void forward_strided_kernel(const float* x, float* y, int64_t outer, int64_t dim,
                                       int64_t inner) {
  const int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= outer * inner) return;
  const int64_t o = p / inner, base = o * dim * inner + (p - o * inner);
  const float* xr = x + base;
  float* yr = y + base;
  float max = -INFINITY;
  for (int64_t k = 0; k < dim; ++k) max = fmaxf(max, xr[k * inner]);
  float sum = 0.0f;
  for (int64_t k = 0; k < dim; ++k) sum += expf(xr[k * inner] - max);
  if constexpr (Log) {
    const float log_sum = logf(sum);
    for (int64_t k = 0; k < dim; ++k) yr[k * inner] = (xr[k * inner] - max) - log_sum;
  } else {
    for (int64_t k = 0; k < dim; ++k) yr[k * inner] = expf(xr[k * inner] - max) / sum;
  }
}

// One team per contiguous row: sum = sum_k dy_k (Log) or sum_k dy_k y_k,
// then dx = dy - exp(y) * sum (Log) or y * (dy - sum).
template <bool WarpPerRow, bool Log>
__global__ void backward_rows_kernel(const float* y, const float* dy, float* dx, int64_t rows,
                                     int64_t dim) {
  __shared__ float scratch[kWarpSize];
  const RowTeam<WarpPerRow> t = row_team<WarpPerRow>();
  if (t.row >= rows) return;
  const int64_t base = t.row * dim;
  float sum = 0.0f;
  for (int64_t k = t.lane; k < dim; k += t.size)
    sum += Log ? dy[base + k] : dy[base + k] * y[base + k];
  sum = team_reduce<WarpPerRow>(sum, Sum{}, 0.0f, scratch);
  for (int64_t k = t.lane; k < dim; k += t.size) {
    const int64_t j = base + k;
    dx[j] = Log ? dy[j] - expf(y[j]) * sum : y[j] * (dy[j] - sum);
  }
}

// One thread per (o, i): the same over the strided row (o, :, i).
template <bool Log>
__global__ void backward_strided_kernel(const float* y, const float* dy, float* dx,
                                        int64_t outer, int64_t dim, int64_t inner) {
  const int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= outer * inner) return;
  const int64_t o = p / inner, base = o * dim * inner + (p - o * inner);
  float sum = 0.0f;
  for (int64_t k = 0; k < dim; ++k) {
    const int64_t j = base + k * inner;
    sum += Log ? dy[j] : dy[j] * y[j];
  }
  for (int64_t k = 0; k < dim; ++k) {
    const int64_t j = base + k * inner;
    dx[j] = Log ? dy[j] - expf(y[j]) * sum : y[j] * (dy[j] - sum);
  }
}

template <bool Log>
void forward(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner,
             Stream stream) {
  if (inner > 1) {
    launch("softmax_forward_strided", forward_strided_kernel<Log>,
           dim3(blocks_for(outer * inner, kThreads)), dim3(kThreads), 0, stream, x, y, outer,
           dim, inner);
    return;
  }
  const bool warp_rows = dim <= kWarpRowMax;
  const dim3 grid = row_grid(outer, warp_rows, kThreads);
  if (warp_rows)
    launch("softmax_forward_warp", forward_rows_kernel<true, Log>, grid, dim3(kThreads), 0,
           stream, x, y, outer, dim);
  else
    launch("softmax_forward_block", forward_rows_kernel<false, Log>, grid, dim3(kThreads), 0,
           stream, x, y, outer, dim);
}

template <bool Log>
void backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t dim,
              int64_t inner, Stream stream) {
  if (inner > 1) {
    launch("softmax_backward_strided", backward_strided_kernel<Log>,
           dim3(blocks_for(outer * inner, kThreads)), dim3(kThreads), 0, stream, y, dy, dx,
           outer, dim, inner);
    return;
  }
  const bool warp_rows = dim <= kWarpRowMax;
  const dim3 grid = row_grid(outer, warp_rows, kThreads);
  if (warp_rows)
    launch("softmax_backward_warp", backward_rows_kernel<true, Log>, grid, dim3(kThreads), 0,
           stream, y, dy, dx, outer, dim);
  else
    launch("softmax_backward_block", backward_rows_kernel<false, Log>, grid, dim3(kThreads), 0,
           stream, y, dy, dx, outer, dim);
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner,
                     bool log, Stream stream) {
  if (dim == 0) return;
  if (log)
    forward<true>(x, y, outer, dim, inner, stream);
  else
    forward<false>(x, y, outer, dim, inner, stream);
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t dim,
                      int64_t inner, bool log, Stream stream) {
  if (dim == 0) return;
  if (log)
    backward<true>(y, dy, dx, outer, dim, inner, stream);
  else
    backward<false>(y, dy, dx, outer, dim, inner, stream);
}

}  // namespace danlu::kernels::cuda
