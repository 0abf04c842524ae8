// Batch norm on the GPU (f32). A channel's M = N * S values are spread over
// many blocks: block (c, k) reduces strip k of channel c to a partial
// (Welford state, or the two gradient sums), and the channel's last block to
// finish merges its partials in double, in a fixed order, in the same launch
// (last_block.cuh). No float atomics, so the same inputs give the same bits.
// The output and dx are elementwise passes that read the per-channel results:
// two launches forward, two backward.
#include "kernels/batchnorm.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/channel_strips.cuh"
#include "kernels/cuda/last_block.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/scratch.h"
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/cuda/welford.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = kStripThreads;

// A strip's partial result, read by the channel's last block: volatile, as
// other blocks wrote it during this launch (last_block.cuh).
__device__ inline WelfordD load_partial(const Welford* p) {
  const volatile float* f = reinterpret_cast<const volatile float*>(p);
  return {f[0], f[1], f[2]};
}
__device__ inline double2 load_partial(const float2* p) {
  const volatile float* f = reinterpret_cast<const volatile float*>(p);
  return make_double2(f[0], f[1]);
}

// The batch statistics in one launch. Block (c, k) owns strip k of channel c
// (channel_strips.cuh): each thread folds its positions into a Welford state
// of x - x[0, c, 0], the block merges the states and thread 0 writes
// partial[k * C + c]. The block that finishes channel c last merges the
// channel's partials in double (thread t those of strips t, t + blockDim,
// ..., then the block in a fixed tree, so the bits do not depend on which
// block is last), adds back the shift and writes what the CPU reference
// writes: mean, invstd from the biased variance, and the running statistics
// moved by momentum with the unbiased variance.
__global__ void __launch_bounds__(kThreads, 6) batch_stats_kernel(const float* x, Welford* partial, unsigned* arrivals,
                                   int64_t N, int64_t C, int64_t S, float* save_mean,
                                   float* save_invstd, float* running_mean, float* running_var,
                                   double momentum, double eps) {
  __shared__ Welford scratch[kWarpSize];
  __shared__ WelfordD merge_scratch[kWarpSize];
  __shared__ bool last;
  const int64_t c = blockIdx.x, k = blockIdx.y;
  const float shift = x[c * S];
  Welford w{};
  for_strip_values(N, C, S, [&](int64_t i) { welford_add(w, x[i] - shift); });
  w = block_welford(w, scratch);
  if (threadIdx.x == 0) partial[k * C + c] = w;
  if (!arrived_last(arrivals + c, gridDim.y, &last)) return;

  WelfordD all{};  // of x - shift
  for (int64_t j = threadIdx.x; j < gridDim.y; j += blockDim.x)
    all = welford_merge(all, load_partial(partial + j * C + c));
  all = block_welford(all, merge_scratch);
  if (threadIdx.x != 0) return;
  const double mean = all.mean + shift;
  save_mean[c] = static_cast<float>(mean);
  save_invstd[c] = static_cast<float>(1.0 / sqrt(all.m2 / all.count + eps));
  if (running_mean) {
    const double unbiased = all.m2 / (all.count - 1.0);
    running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * mean);
    running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
  }
}

// Thread c: the eval statistics of channel c (the running mean and
// 1 / sqrt(running_var + eps), in double as the CPU reference).
__global__ void eval_stats_kernel(const float* running_mean, const float* running_var,
                                  float* save_mean, float* save_invstd, int64_t C, double eps) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  save_mean[c] = running_mean[c];
  save_invstd[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(running_var[c]) + eps));
}

// How the elementwise kernels (normalize, dx) cover x (N, C, S): block
// (p, k) takes part k of plane p = (n, c), so it reads channel c's constants
// once (c = p % C: one division a block, not one an element). Its threads
// stride over the part in float4 groups when every plane starts 16-byte
// aligned (S % 4 == 0 and aligned pointers), one value at a time otherwise.
// The block is sized to the plane (a multiple of 32 up to 256 threads), and a
// part gives each thread up to kItemsPerThread items.
struct PlaneGrid {
  dim3 grid, block;
  int64_t part;  // values per part, a multiple of 4 when vec4
  bool vec4;
};

constexpr int64_t kItemsPerThread = 4;

PlaneGrid plane_grid(int64_t N, int64_t C, int64_t S, bool aligned) {
  const bool vec4 = aligned && S % 4 == 0;
  const int64_t items = vec4 ? S / 4 : S;
  const int64_t threads = std::clamp<int64_t>((items + 31) / 32 * 32, 32, kThreads);
  const int64_t parts = std::max<int64_t>(1, (items + threads * kItemsPerThread - 1) /
                                                 (threads * kItemsPerThread));
  const int64_t part_items = (items + parts - 1) / parts;
  return {dim3(static_cast<unsigned>(N * C), static_cast<unsigned>(parts)),
          dim3(static_cast<unsigned>(threads)), vec4 ? part_items * 4 : part_items, vec4};
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Calls f(i) for each value i of block (p, k)'s part of plane p (offsets
// within the plane), four at a time as f4(i) when vec4.
template <class F, class F4>
__device__ inline void for_part(int64_t S, int64_t part, bool vec4, F f, F4 f4) {
  const int64_t begin = static_cast<int64_t>(blockIdx.y) * part;
  const int64_t end = begin + part < S ? begin + part : S;
  if (vec4) {
    for (int64_t i = begin + 4 * threadIdx.x; i < end; i += 4 * blockDim.x) f4(i);
  } else {
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) f(i);
  }
}

// Block (p, k) of plane_grid: y = (x - mean) * invstd * w + b with channel
// c's values for its part of plane p, then ReLU when Relu (`v < 0` so NaN
// passes, as relu). Subtracting the mean first keeps inputs far from zero
// (mean 1e3) accurate.
template <bool Relu>
__global__ void normalize_kernel(const float* x, const float* weight, const float* bias,
                                 const float* mean, const float* invstd, float* y, int64_t C,
                                 int64_t S, int64_t part, bool vec4) {
  const int64_t p = blockIdx.x, c = p % C;
  const float scale = invstd[c] * (weight ? weight[c] : 1.0f);
  const float mu = mean[c], shift = bias ? bias[c] : 0.0f;
  const float* xp = x + p * S;
  float* yp = y + p * S;
  const auto one = [&](float v) {
    const float out = (v - mu) * scale + shift;
    return Relu && out < 0.0f ? 0.0f : out;
  };
  for_part(
      S, part, vec4, [&](int64_t i) { yp[i] = one(xp[i]); },
      [&](int64_t i) {
        const float4 v = *reinterpret_cast<const float4*>(xp + i);
        *reinterpret_cast<float4*>(yp + i) = make_float4(one(v.x), one(v.y), one(v.z), one(v.w));
      });
}

// The gradient reaching batch norm: dy, or with the fused ReLU, dy where its
// output y is positive (as activation_backward's relu).
__device__ inline float grad_in(const float* dy, const float* relu_y, int64_t i) {
  return relu_y && !(relu_y[i] > 0.0f) ? 0.0f : dy[i];
}

// The gradient sums in one launch. Block (c, k) owns strip k of channel c
// as in batch_stats_kernel; the block adds up sum dy and sum dy * (x - mean)
// over it and thread 0 writes them to partial[k * C + c]. The block that
// finishes channel c last adds the channel's partials in double, in the
// fixed order of batch_stats_kernel, and writes dbias = sum dy and
// dweight = sum dy * xhat when asked, and coef[c] = (mean dy,
// mean dy * xhat) for the training dx.
__global__ void grad_sums_kernel(const float* dy, const float* x, const float* relu_y,
                                 const float* mean, const float* invstd, float2* partial,
                                 unsigned* arrivals, int64_t N, int64_t C, int64_t S,
                                 float* dweight, float* dbias, float2* coef) {
  __shared__ float scratch[kWarpSize];
  __shared__ double sum_scratch[kWarpSize];
  __shared__ bool last;
  const int64_t c = blockIdx.x, k = blockIdx.y;
  const float mu = mean[c];
  float sum_dy = 0.0f, sum_dy_xc = 0.0f;
  for_strip_values(N, C, S, [&](int64_t i) {
    const float g = grad_in(dy, relu_y, i);
    sum_dy += g;
    sum_dy_xc += g * (x[i] - mu);
  });
  sum_dy = block_reduce(sum_dy, Sum{}, 0.0f, scratch);
  sum_dy_xc = block_reduce(sum_dy_xc, Sum{}, 0.0f, scratch);
  if (threadIdx.x == 0) partial[k * C + c] = make_float2(sum_dy, sum_dy_xc);
  if (!arrived_last(arrivals + c, gridDim.y, &last)) return;

  double all_dy = 0.0, all_dy_xc = 0.0;
  for (int64_t j = threadIdx.x; j < gridDim.y; j += blockDim.x) {
    const double2 p = load_partial(partial + j * C + c);
    all_dy += p.x;
    all_dy_xc += p.y;
  }
  all_dy = block_reduce(all_dy, Sum{}, 0.0, sum_scratch);
  all_dy_xc = block_reduce(all_dy_xc, Sum{}, 0.0, sum_scratch);
  if (threadIdx.x != 0) return;
  const double M = static_cast<double>(N) * S, all_dy_xhat = all_dy_xc * invstd[c];
  if (dbias) dbias[c] = static_cast<float>(all_dy);
  if (dweight) dweight[c] = static_cast<float>(all_dy_xhat);
  coef[c] = make_float2(static_cast<float>(all_dy / M), static_cast<float>(all_dy_xhat / M));
}

// Block (p, k) of plane_grid, for its part of plane p:
// dx = w * invstd * (dy - mean dy - xhat * mean dy * xhat) with channel c's
// values (training), or w * invstd * dy when coef is null (eval: the
// statistics are constants).
__global__ void dx_kernel(const float* dy, const float* x, const float* relu_y,
                          const float* weight, const float* mean, const float* invstd,
                          const float2* coef, float* dx, int64_t C, int64_t S, int64_t part,
                          bool vec4) {
  const int64_t p = blockIdx.x, c = p % C, base = p * S;
  const float rs = invstd[c], mu = mean[c];
  const float w_invstd = (weight ? weight[c] : 1.0f) * rs;
  const float2 k = coef ? coef[c] : make_float2(0.0f, 0.0f);
  const auto one = [&](int64_t i) {
    const float g = grad_in(dy, relu_y, base + i);
    if (!coef) return w_invstd * g;
    const float xhat = (x[base + i] - mu) * rs;
    return w_invstd * (g - k.x - xhat * k.y);
  };
  for_part(
      S, part, vec4, [&](int64_t i) { dx[base + i] = one(i); },
      [&](int64_t i) {
        *reinterpret_cast<float4*>(dx + base + i) =
            make_float4(one(i), one(i + 1), one(i + 2), one(i + 3));
      });
}

void normalize(bool relu, const float* x, const float* weight, const float* bias,
               const float* mean, const float* invstd, float* y, int64_t N, int64_t C, int64_t S,
               Stream stream) {
  const PlaneGrid g = plane_grid(N, C, S, aligned16(x) && aligned16(y));
  if (relu)
    launch("batchnorm_relu_normalize", normalize_kernel<true>, g.grid, g.block, 0, stream, x,
           weight, bias, mean, invstd, y, C, S, g.part, g.vec4);
  else
    launch("batchnorm_normalize", normalize_kernel<false>, g.grid, g.block, 0, stream, x, weight,
           bias, mean, invstd, y, C, S, g.part, g.vec4);
}

void forward_train(bool relu, const float* x, const float* weight, const float* bias, float* y,
                   float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                   int64_t N, int64_t C, int64_t S, double momentum, double eps, Stream stream) {
  if (N * C * S == 0) return;  // the op rejects training on fewer than 2 values per channel
  const int64_t chunks = chunks_for(N * S, C);
  const Scratch workspace(sizeof(Welford) * chunks * C);
  launch("batchnorm_stats", batch_stats_kernel,
         dim3(static_cast<unsigned>(C), static_cast<unsigned>(chunks)), dim3(kThreads), 0,
         stream, x, workspace.data<Welford>(), arrival_counters(C, stream), N, C, S, save_mean,
         save_invstd, running_mean, running_var, momentum, eps);
  normalize(relu, x, weight, bias, save_mean, save_invstd, y, N, C, S, stream);
}

void forward_eval(bool relu, const float* x, const float* weight, const float* bias,
                  const float* running_mean, const float* running_var, float* y,
                  float* save_mean, float* save_invstd, int64_t N, int64_t C, int64_t S,
                  double eps, Stream stream) {
  launch("batchnorm_eval_stats", eval_stats_kernel, dim3(blocks_for(C, kThreads)),
         dim3(kThreads), 0, stream, running_mean, running_var, save_mean, save_invstd, C, eps);
  normalize(relu, x, weight, bias, save_mean, save_invstd, y, N, C, S, stream);
}

void backward(const float* relu_y, const float* dy, const float* x, const float* weight,
              const float* save_mean, const float* save_invstd, float* dx, float* dweight,
              float* dbias, int64_t N, int64_t C, int64_t S, bool training, Stream stream) {
  if (C == 0) return;
  if (N * S == 0) {  // empty sums; dx is empty too
    if (dweight) DANLU_CUDA_CHECK(cudaMemsetAsync(dweight, 0, sizeof(float) * C, stream));
    if (dbias) DANLU_CUDA_CHECK(cudaMemsetAsync(dbias, 0, sizeof(float) * C, stream));
    return;
  }
  const bool need_sums = training || dweight || dbias;
  const int64_t chunks = chunks_for(N * S, C);
  // (chunks, C) partial sums, then coef (C)
  const Scratch workspace(need_sums ? sizeof(float2) * (chunks + 1) * C : 0);
  float2* coef = nullptr;
  if (need_sums) {
    auto* partial = workspace.data<float2>();
    coef = partial + chunks * C;
    launch("batchnorm_grad_sums", grad_sums_kernel,
           dim3(static_cast<unsigned>(C), static_cast<unsigned>(chunks)), dim3(kThreads), 0,
           stream, dy, x, relu_y, save_mean, save_invstd, partial, arrival_counters(C, stream),
           N, C, S, dweight, dbias, coef);
  }
  if (dx) {
    // dx is written in float4s; dy, x and relu_y are read one value at a time.
    const PlaneGrid g = plane_grid(N, C, S, aligned16(dx));
    launch("batchnorm_dx", dx_kernel, g.grid, g.block, 0, stream, dy, x, relu_y, weight,
           save_mean, save_invstd, training ? static_cast<const float2*>(coef) : nullptr, dx, C,
           S, g.part, g.vec4);
  }
}

}  // namespace

void batchnorm_forward_train(const float* x, const float* weight, const float* bias, float* y,
                             float* save_mean, float* save_invstd, float* running_mean,
                             float* running_var, int64_t N, int64_t C, int64_t S,
                             double momentum, double eps, Stream stream) {
  forward_train(false, x, weight, bias, y, save_mean, save_invstd, running_mean, running_var, N,
                C, S, momentum, eps, stream);
}

void batchnorm_forward_eval(const float* x, const float* weight, const float* bias,
                            const float* running_mean, const float* running_var, float* y,
                            float* save_mean, float* save_invstd, int64_t N, int64_t C,
                            int64_t S, double eps, Stream stream) {
  forward_eval(false, x, weight, bias, running_mean, running_var, y, save_mean, save_invstd, N,
               C, S, eps, stream);
}

void batchnorm_backward(const float* dy, const float* x, const float* weight,
                        const float* save_mean, const float* save_invstd, float* dx,
                        float* dweight, float* dbias, int64_t N, int64_t C, int64_t S,
                        bool training, Stream stream) {
  backward(nullptr, dy, x, weight, save_mean, save_invstd, dx, dweight, dbias, N, C, S, training,
           stream);
}

void batchnorm_relu_forward_train(const float* x, const float* weight, const float* bias,
                                  float* y, float* save_mean, float* save_invstd,
                                  float* running_mean, float* running_var, int64_t N, int64_t C,
                                  int64_t S, double momentum, double eps, Stream stream) {
  forward_train(true, x, weight, bias, y, save_mean, save_invstd, running_mean, running_var, N,
                C, S, momentum, eps, stream);
}

void batchnorm_relu_forward_eval(const float* x, const float* weight, const float* bias,
                                 const float* running_mean, const float* running_var, float* y,
                                 float* save_mean, float* save_invstd, int64_t N, int64_t C,
                                 int64_t S, double eps, Stream stream) {
  forward_eval(true, x, weight, bias, running_mean, running_var, y, save_mean, save_invstd, N, C,
               S, eps, stream);
}

void batchnorm_relu_backward(const float* y, const float* dy, const float* x,
                             const float* weight, const float* save_mean,
                             const float* save_invstd, float* dx, float* dweight, float* dbias,
                             int64_t N, int64_t C, int64_t S, bool training, Stream stream) {
  backward(y, dy, x, weight, save_mean, save_invstd, dx, dweight, dbias, N, C, S, training,
           stream);
}

}  // namespace danlu::kernels::cuda
