// Fused softmax cross-entropy on the GPU (f32). The forward gives each row
// (sample) to a team (warp or block, RowTeam) that finds the row max, then
// sum exp(x - max) and sum (x - max) in one more pass; working with x - max
// keeps a confident row's small loss accurate next to logits of +-80. The
// backward is elementwise given the saved log-sum-exp; the mean and sum of
// the per-row losses come from one block adding them in a fixed order.
#include "kernels/softmax_xent.h"

#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kReduceThreads = 1024;

// One team per row n of C logits (thread `lane` takes c = lane, lane + team,
// ...): the team reduces max, sum exp(x - max) and sum (x - max); thread 0
// then writes, in double as the CPU reference,
//   lse = max + log(sum exp), nll = (max - x_t) + log(sum exp),
//   loss = (1 - eps) nll + eps (log(sum exp) - mean (x - max)),
// with nll NaN when the target is outside [0, C). A warp past the last row
// leaves at once; in block mode every row exists.
template <bool WarpPerRow>
__global__ void forward_kernel(const float* logits, const int64_t* target, float* loss,
                               float* lse, int64_t N, int64_t C, double smoothing) {
  __shared__ float scratch[kWarpSize];
  const RowTeam<WarpPerRow> t = row_team<WarpPerRow>();
  if (t.row >= N) return;
  const float* row = logits + t.row * C;
  float max = -INFINITY;
  for (int64_t c = t.lane; c < C; c += t.size) max = fmaxf(max, row[c]);
  max = team_reduce<WarpPerRow>(max, Max{}, -INFINITY, scratch);
  float sum_exp = 0.0f, sum_shifted = 0.0f;
  for (int64_t c = t.lane; c < C; c += t.size) {
    const float z = row[c] - max;
    sum_exp += expf(z);
    sum_shifted += z;
  }
  sum_exp = team_reduce<WarpPerRow>(sum_exp, Sum{}, 0.0f, scratch);
  sum_shifted = team_reduce<WarpPerRow>(sum_shifted, Sum{}, 0.0f, scratch);
  if (t.lane != 0) return;
  const int64_t tgt = target[t.row];
  const double log_sum = log(static_cast<double>(sum_exp));
  const double nll = tgt >= 0 && tgt < C ? (static_cast<double>(max) - row[tgt]) + log_sum
                                         : static_cast<double>(NAN);
  const double smooth = log_sum - static_cast<double>(sum_shifted) / static_cast<double>(C);
  loss[t.row] = static_cast<float>((1.0 - smoothing) * nll + smoothing * smooth);
  lse[t.row] = static_cast<float>(max + log_sum);
}

// One team per row n: g = dloss[n * stride] * scale, then for each class c
// dlogits = g * (exp(x - lse) - (1 - eps) [c == t] - eps / C). Only compares
// the target, so an out-of-range one reads nothing outside the row.
template <bool WarpPerRow>
__global__ void backward_kernel(const float* logits, const int64_t* target, const float* lse,
                                const float* dloss, int64_t dloss_stride, double dloss_scale,
                                float* dlogits, int64_t N, int64_t C, double smoothing) {
  const RowTeam<WarpPerRow> t = row_team<WarpPerRow>();
  if (t.row >= N) return;
  const float g = static_cast<float>(dloss[t.row * dloss_stride] * dloss_scale);
  const double off_target = smoothing / static_cast<double>(C);
  const float off = static_cast<float>(off_target);
  const float on = static_cast<float>(1.0 - smoothing + off_target);
  const float row_lse = lse[t.row];
  const int64_t tgt = target[t.row];
  const float* row = logits + t.row * C;
  float* drow = dlogits + t.row * C;
  for (int64_t c = t.lane; c < C; c += t.size)
    drow[c] = g * (expf(row[c] - row_lse) - (c == tgt ? on : off));
}

// One block: thread t adds loss[t], loss[t + 1024], ... in double, the block
// adds the 1024 partial sums in a fixed tree, and thread 0 writes the scaled
// total.
__global__ void reduce_kernel(const float* loss, int64_t N, double scale, float* out) {
  __shared__ float scratch[kWarpSize];
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) sum += loss[i];
  const float total = block_reduce(static_cast<float>(sum), Sum{}, 0.0f, scratch);
  if (threadIdx.x == 0) out[0] = static_cast<float>(total * scale);
}

}  // namespace

void softmax_xent_forward(const float* logits, const int64_t* target, float* loss, float* lse,
                          int64_t N, int64_t C, double label_smoothing, Stream stream) {
  const bool warp_rows = C <= kWarpRowMax;
  const dim3 grid = row_grid(N, warp_rows, kThreads);
  if (warp_rows)
    launch("softmax_xent_forward_warp", forward_kernel<true>, grid, dim3(kThreads), 0, stream,
           logits, target, loss, lse, N, C, label_smoothing);
  else
    launch("softmax_xent_forward_block", forward_kernel<false>, grid, dim3(kThreads), 0, stream,
           logits, target, loss, lse, N, C, label_smoothing);
}

void softmax_xent_backward(const float* logits, const int64_t* target, const float* lse,
                           const float* dloss, int64_t dloss_stride, double dloss_scale,
                           float* dlogits, int64_t N, int64_t C, double label_smoothing,
                           Stream stream) {
  const bool warp_rows = C <= kWarpRowMax;
  const dim3 grid = row_grid(N, warp_rows, kThreads);
  if (warp_rows)
    launch("softmax_xent_backward_warp", backward_kernel<true>, grid, dim3(kThreads), 0, stream,
           logits, target, lse, dloss, dloss_stride, dloss_scale, dlogits, N, C,
           label_smoothing);
  else
    launch("softmax_xent_backward_block", backward_kernel<false>, grid, dim3(kThreads), 0,
           stream, logits, target, lse, dloss, dloss_stride, dloss_scale, dlogits, N, C,
           label_smoothing);
}

void softmax_xent_reduce(const float* loss, int64_t N, double scale, float* out, Stream stream) {
  launch("softmax_xent_reduce", reduce_kernel, dim3(1), dim3(kReduceThreads), 0, stream, loss, N,
         scale, out);
}

}  // namespace danlu::kernels::cuda
