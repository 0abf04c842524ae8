// Gradient clipping on the GPU, as multi-tensor launches over one GPU's
// gradients (multi_tensor.cuh): the norm's part (sum |g|^p, or max |g|) in
// one reducing launch (multi_tensor_reduce.cuh), then the rescale, either by
// a scale the host passes or, for clip_grad_norm_ on one GPU, by the scale
// the norm launch's last block leaves on the device, so the host never
// waits; and the clamp of clip_grad_value_.
#include <cmath>
#include <cstdint>

#include "kernels/cuda/multi_tensor_reduce.cuh"
#include "kernels/optim.h"

namespace danlu::kernels::cuda {

namespace {

enum class NormKind { one, two, inf, other };

// What the last block of a norm launch does besides leaving the part in
// out[0]: nothing (norm == nullptr: the host combines the parts), or finish
// clip_grad_norm_ on the device (*norm = the total norm, *coef = its scale).
struct NormFinish {
  float* norm;
  double* coef;
  double max_norm;
};

// The gradient norm's part in one launch: block b adds |g|^p over chunk b's
// elements (max |g| for the inf norm; thread t takes elements begin + t,
// + 512, ...); the last block combines the chunks' results into out[0] and,
// when asked, thread 0 of it takes the p-th root and the clipping scale.
template <class Combine>
__global__ void norm_part_kernel(Table table, NormKind kind, double p, Partials partials,
                                 NormFinish finish) {
  __shared__ double warp_vals[1][kWarps];
  __shared__ bool last;
  const ChunkRange r = chunk_range(table);
  const float* g = r.row.list[0];
  double acc = 0.0;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kChunkThreads) {
    const double a = fabs(static_cast<double>(g[i]));
    switch (kind) {
      case NormKind::inf: acc = NanMax()(acc, a); break;
      case NormKind::two: acc += a * a; break;
      case NormKind::one: acc += a; break;
      case NormKind::other: acc += pow(a, p); break;
    }
  }
  const double mine[1] = {block_reduce(acc, Combine(), 0.0, warp_vals[0])};
  const bool combined = combine_across_blocks<Combine>(mine, partials, warp_vals, &last);
  if (!combined || threadIdx.x != 0 || finish.norm == nullptr) return;
  // As the host's clip_grad_norm_: clamp(NaN, max=1) is NaN, an inf norm gives 0.
  const double norm = kind == NormKind::inf ? partials.out[0] : pow(partials.out[0], 1.0 / p);
  *finish.norm = static_cast<float>(norm);
  *finish.coef = isnan(norm) ? norm : fmin(finish.max_norm / (norm + 1e-6), 1.0);
}


// Launches the norm over the table's gradients (see norm_part_kernel).
void launch_norm(const Table& t, double norm_type, const Partials& partials, NormFinish finish,
                 Stream stream) {
  const NormKind kind = std::isinf(norm_type) ? NormKind::inf
                        : norm_type == 2.0    ? NormKind::two
                        : norm_type == 1.0    ? NormKind::one
                                              : NormKind::other;
  const auto grid = static_cast<unsigned>(t.num_chunks);
  if (kind == NormKind::inf) {
    launch("clip_grad_norm", norm_part_kernel<NanMax>, grid, kChunkThreads, 0, stream, t, kind,
           norm_type, partials, finish);
  } else {
    launch("clip_grad_norm", norm_part_kernel<Sum>, grid, kChunkThreads, 0, stream, t, kind,
           norm_type, partials, finish);
  }
}

// Row lists: the gradient. The scale is `coef`, or *device_coef when that
// is set (written by an earlier launch on the stream).
struct ScaleRule {
  float coef;
  const double* device_coef;
  __device__ void operator()(const Row& row, int64_t i) const {
    const float c = device_coef ? static_cast<float>(*device_coef) : coef;
    row.list[0][i] = __fmul_rn(row.list[0][i], c);  // rounded on its own, as the CPU
  }
};

// Row lists: the gradient; comparisons with NaN are false, so NaN stays.
struct ClampRule {
  float lo, hi;
  __device__ void operator()(const Row& row, int64_t i) const {
    const float g = row.list[0][i];
    row.list[0][i] = g < lo ? lo : (g > hi ? hi : g);
  }
};

}  // namespace

double clip_grad_norm_part(FusedTable& table, const FusedTensors& grads, double norm_type,
                           Stream stream) {
  const Table t = upload(table, rows_of(grads, no_constants), stream);
  if (t.num_chunks == 0) return 0.0;
  double result = 0.0;
  reduce_to_host(t, 1, &result, stream, [&](const Partials& partials) {
    launch_norm(t, norm_type, partials, NormFinish{nullptr, nullptr, 0.0}, stream);
  });
  return result;
}

void clip_grad_scale(FusedTable& table, const FusedTensors& grads, double coef, Stream stream) {
  multi_tensor_apply("clip_grad_scale", table, rows_of(grads, no_constants),
                     ScaleRule{static_cast<float>(coef), nullptr}, stream);
}

void clip_grad_norm_on_device(FusedTable& table, const FusedTensors& grads, double norm_type,
                              double max_norm, float* norm, Stream stream) {
  const Table t = upload(table, rows_of(grads, no_constants), stream);
  if (t.num_chunks == 0) {  // only empty gradients: the norm is 0 and nothing is scaled
    DANLU_CUDA_CHECK(cudaMemsetAsync(norm, 0, sizeof(float), stream));
    return;
  }
  // out[0]: the combined part, out[1]: the scale.
  reduce_on_device(
      t, 2, stream,
      [&](const Partials& partials) {
        launch_norm(t, norm_type, partials, NormFinish{norm, partials.out + 1, max_norm}, stream);
      },
      [&](const double* out) {
        launch("clip_grad_scale", multi_tensor_kernel<ScaleRule>,
               static_cast<unsigned>(t.num_chunks), kChunkThreads, 0, stream, t,
               ScaleRule{0.0f, out + 1});
      });
}

void clip_grad_value(FusedTable& table, const FusedTensors& grads, double clip_value,
                     Stream stream) {
  const float hi = static_cast<float>(clip_value);
  multi_tensor_apply("clip_grad_value", table, rows_of(grads, no_constants), ClampRule{-hi, hi},
                     stream);
}

}  // namespace danlu::kernels::cuda
