// CUDA optimizer updates and gradient clipping as multi-tensor launches: one
// launch per param group (see multi_tensor.cuh). Each rule is the CPU loop of
// kernels/cpu/optim.cpp with every operation rounded on its own (__fadd_rn,
// __fmul_rn, ... keep the compiler from fusing multiply-adds), the group's
// scalars rounded to float once on the host as the CPU does, and the
// per-tensor step constants computed on the host in double. The reductions
// (SWATS's projections, the gradient norm) run in double in a fixed order,
// each in one launch whose last block combines the others' results.
#include "kernels/optim.h"

#include <cmath>
#include <cstdint>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/check.h"
#include "kernels/cuda/multi_tensor.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kWarps = kChunkThreads / kWarpSize;

__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float quot(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ float root(float a) { return __fsqrt_rn(a); }

// ---- update rules: rule(row, i) updates element i of row's tensor -------------------

// Row lists: param, grad, momentum_buffer.
struct SgdRule {
  float lr, momentum, damp, wd;
  bool decay, use_momentum, nesterov;

  __device__ void operator()(const Row& row, int64_t i) const {
    float* p = row.list[0];
    float g = row.list[1][i];
    if (decay) g = add(g, mul(wd, p[i]));
    if (use_momentum) {
      float& buf = row.list[2][i];
      buf = row.fresh ? g : add(mul(momentum, buf), mul(damp, g));
      g = nesterov ? add(g, mul(momentum, buf)) : buf;
    }
    p[i] = sub(p[i], mul(lr, g));
  }
};

// Row lists: param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq; Row::c =
// {-lr / (1 - beta1^t), sqrt(1 - beta2^t)} for the tensor's step t. Adam adds
// the L2 term to the gradient, AdamW (decoupled) scales the parameter first.
struct AdamRule {
  float b0, b1, b2, b3;  // beta1, 1 - beta1, beta2, 1 - beta2
  float eps, wd, decay;
  bool l2, decoupled, amsgrad;

  __device__ void operator()(const Row& row, int64_t i) const {
    float p = row.list[0][i];
    float g = row.list[1][i];
    if (decoupled) {
      p = mul(p, decay);
    } else if (l2) {
      g = add(g, mul(wd, p));
    }
    float& m = row.list[2][i];
    float& v = row.list[3][i];
    m = add(mul(m, b0), mul(b1, g));
    v = add(mul(v, b2), mul(mul(b3, g), g));
    float second = v;
    if (amsgrad) {
      float& v_max = row.list[4][i];
      v_max = v_max < v ? v : v_max;  // std::max's choice, NaN included
      second = v_max;
    }
    const float denom = add(quot(root(second), row.c[1]), eps);
    row.list[0][i] = add(p, quot(mul(row.c[0], m), denom));
  }
};

// Row lists: param, grad, sum; Row::c[0] = -lr / (1 + (t - 1) * lr_decay).
struct AdagradRule {
  float wd, eps;
  bool decay;

  __device__ void operator()(const Row& row, int64_t i) const {
    float* p = row.list[0];
    float g = row.list[1][i];
    if (decay) g = add(g, mul(wd, p[i]));
    float& sum = row.list[2][i];
    sum = add(sum, mul(g, g));
    p[i] = add(p[i], quot(mul(row.c[0], g), add(root(sum), eps)));
  }
};

// Row lists: param, grad, square_avg, acc_delta.
struct AdadeltaRule {
  float rho, one_rho, eps, neg_lr, wd;
  bool decay;

  __device__ void operator()(const Row& row, int64_t i) const {
    float* p = row.list[0];
    float g = row.list[1][i];
    if (decay) g = add(g, mul(wd, p[i]));
    float& sq = row.list[2][i];
    float& acc = row.list[3][i];
    sq = add(mul(sq, rho), mul(mul(one_rho, g), g));
    const float delta = mul(quot(root(add(acc, eps)), root(add(sq, eps))), g);
    acc = add(mul(acc, rho), mul(mul(one_rho, delta), delta));
    p[i] = add(p[i], mul(neg_lr, delta));
  }
};

// Row lists: param, grad, square_avg, grad_avg (centered), momentum_buffer.
struct RmspropRule {
  float alpha, one_alpha, eps, neg_lr, wd, momentum;
  bool decay, centered, use_momentum;

  __device__ void operator()(const Row& row, int64_t i) const {
    float* p = row.list[0];
    float g = row.list[1][i];
    if (decay) g = add(g, mul(wd, p[i]));
    float& sq = row.list[2][i];
    sq = add(mul(sq, alpha), mul(mul(one_alpha, g), g));
    float avg;
    if (centered) {
      float& ga = row.list[3][i];
      ga = add(mul(ga, alpha), mul(one_alpha, g));
      avg = root(sub(sq, mul(ga, ga)));
    } else {
      avg = root(sq);
    }
    avg = add(avg, eps);
    if (use_momentum) {
      float& buf = row.list[4][i];
      buf = add(mul(buf, momentum), quot(g, avg));
      p[i] = add(p[i], mul(neg_lr, buf));
    } else {
      p[i] = add(p[i], quot(mul(neg_lr, g), avg));
    }
  }
};

// SWATS's SGD phase. Row lists: param, grad, momentum_buffer.
struct SwatsSgdRule {
  float beta1, wd, neg_rate;
  bool decay;

  __device__ void operator()(const Row& row, int64_t i) const {
    float* p = row.list[0];
    float g = row.list[1][i];
    if (decay) g = add(g, mul(wd, p[i]));
    float& buf = row.list[2][i];
    buf = add(mul(beta1, buf), g);
    p[i] = add(p[i], mul(neg_rate, buf));
  }
};

// SWATS's Adam phase for one element; returns the step s and sets *g_out to
// the gradient it used. Row lists: param, grad, exp_avg, exp_avg_sq; Row::c[0]
// = -lr * sqrt(1 - beta2^t) / (1 - beta1^t).
struct SwatsAdamRule {
  float beta1, one_beta1, beta2, one_beta2, eps, wd;
  bool decay;

  __device__ float operator()(const Row& row, int64_t i, float* g_out) const {
    float* p = row.list[0];
    float g = row.list[1][i];
    if (decay) g = add(g, mul(wd, p[i]));
    float& m = row.list[2][i];
    float& v = row.list[3][i];
    m = add(mul(beta1, m), mul(one_beta1, g));
    v = add(mul(beta2, v), mul(mul(one_beta2, g), g));
    const float s = quot(mul(row.c[0], m), add(root(v), eps));
    p[i] = add(p[i], s);
    *g_out = g;
    return s;
  }
};

// ---- deterministic block reductions in double ----------------------------------------

// Each block reduces its values with block_reduce (block_reduce.cuh) in
// double; identity 0 fits both Sum and NanMax of |g| terms.

// The element range of block b's chunk.
struct ChunkRange {
  Row row;
  int64_t begin, end;
};
__device__ __forceinline__ ChunkRange chunk_range(const Table& table) {
  const ChunkRef ref = table.chunks[blockIdx.x];
  const Row row = table.rows[ref.row];
  const int64_t begin = static_cast<int64_t>(ref.chunk) * kChunk;
  return {row, begin, begin + kChunk < row.n ? begin + kChunk : row.n};
}

// Where the blocks of a reducing launch meet: K arrays of one partial result
// per block, the K results, and the count of blocks done (zero at launch).
struct Partials {
  double* partial;  // [K][gridDim.x]
  double* out;      // [K]
  unsigned* done;
};

// The end of a reducing launch (every thread of every block calls it, with
// its block's results `mine` valid in thread 0, and the block's __shared__
// scratch, which the combine reuses only after its barrier). Thread 0 stores the block's results and makes them visible
// (__threadfence) before counting the block done on an integer atomic; the
// block that counts last reads every block's results (volatile: other blocks
// wrote them during this launch), combines each array in block order (the
// same order whichever block comes last), writes out and resets the count.
// Returns true in the last block.
template <class Combine, int K>
__device__ bool combine_across_blocks(const double (&mine)[K], const Partials& p,
                                      double (*warp_vals)[kWarps], bool* last) {
  if (threadIdx.x == 0) {
    for (int k = 0; k < K; ++k) p.partial[k * gridDim.x + blockIdx.x] = mine[k];
    __threadfence();
    *last = atomicAdd(p.done, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!*last) return false;  // uniform: every thread read *last after the barrier
  __threadfence();
  const volatile double* all = p.partial;
  for (int k = 0; k < K; ++k) {
    double acc = 0.0;
    for (unsigned b = threadIdx.x; b < gridDim.x; b += kChunkThreads)
      acc = Combine()(acc, all[k * gridDim.x + b]);
    acc = block_reduce(acc, Combine(), 0.0, warp_vals[k]);
    if (threadIdx.x == 0) p.out[k] = acc;
  }
  if (threadIdx.x == 0) *p.done = 0;
  return true;
}

// SWATS Adam phase in one launch: block b updates chunk b (thread t takes
// elements begin + t, + 512, ...) and sums s*g and s*s over it in double;
// the last block adds the chunks' sums into out[0] and out[1].
__global__ void swats_adam_kernel(Table table, SwatsAdamRule rule, Partials partials) {
  __shared__ double warp_vals[2][kWarps];
  __shared__ bool last;
  const ChunkRange r = chunk_range(table);
  double sg = 0.0, ss = 0.0;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kChunkThreads) {
    float g;
    const double s = rule(r.row, i, &g);
    sg += s * static_cast<double>(g);
    ss += s * s;
  }
  const double mine[2] = {block_reduce(sg, Sum(), 0.0, warp_vals[0]),
                          block_reduce(ss, Sum(), 0.0, warp_vals[1])};
  combine_across_blocks<Sum>(mine, partials, warp_vals, &last);
}

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

// Runs `launch_with(partials)`, a reducing launch over the table's chunks
// with `components` results, then `use_results(partials.out)` (device
// memory, valid until the launches `use_results` queues have run).
template <class LaunchWith, class UseResults>
void reduce_on_device(const Table& t, int components, Stream stream, LaunchWith launch_with,
                      UseResults use_results) {
  const size_t doubles = static_cast<size_t>(components) * (t.num_chunks + 1);
  char* buffer = nullptr;
  DANLU_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&buffer),
                                   doubles * sizeof(double) + sizeof(unsigned), stream));
  double* partial = reinterpret_cast<double*>(buffer);
  const Partials partials{partial, partial + static_cast<size_t>(components) * t.num_chunks,
                          reinterpret_cast<unsigned*>(buffer + doubles * sizeof(double))};
  DANLU_CUDA_CHECK(cudaMemsetAsync(partials.done, 0, sizeof(unsigned), stream));
  launch_with(partials);
  use_results(partials.out);
  DANLU_CUDA_CHECK(cudaFreeAsync(buffer, stream));
}

// reduce_on_device, with the `components` results copied to the host.
template <class LaunchWith>
void reduce_to_host(const Table& t, int components, double* results, Stream stream,
                    LaunchWith launch_with) {
  reduce_on_device(t, components, stream, launch_with, [&](const double* out) {
    DANLU_CUDA_CHECK(cudaMemcpyAsync(results, out, components * sizeof(double),
                                     cudaMemcpyDeviceToHost, stream));
  });
  DANLU_CUDA_CHECK(cudaStreamSynchronize(stream));
}

float to_float(double v) { return static_cast<float>(v); }

// Adam's per-tensor constants, as the CPU's AdamStep.
auto adam_constants(double lr, double beta1, double beta2) {
  return [=](const FusedTensor& t, float* c) {
    const double step = static_cast<double>(t.step);
    c[0] = to_float(-(lr / (1.0 - std::pow(beta1, step))));
    c[1] = to_float(std::sqrt(1.0 - std::pow(beta2, step)));
  };
}

AdamRule adam_rule(double lr, double beta1, double beta2, double eps, double weight_decay,
                   bool decoupled, bool amsgrad) {
  return {to_float(beta1), to_float(1.0 - beta1), to_float(beta2), to_float(1.0 - beta2),
          to_float(eps),   to_float(weight_decay), to_float(1.0 - lr * weight_decay),
          !decoupled && weight_decay != 0.0, decoupled, amsgrad};
}

}  // namespace

void sgd_update(FusedTable& table, const FusedTensors& tensors, double lr, double momentum,
                double dampening, double weight_decay, bool nesterov, Stream stream) {
  const SgdRule rule{to_float(lr), to_float(momentum), to_float(1.0 - dampening),
                     to_float(weight_decay), weight_decay != 0.0, momentum != 0.0, nesterov};
  multi_tensor_apply("sgd_update", table, rows_of(tensors, no_constants), rule, stream);
}

void adam_update(FusedTable& table, const FusedTensors& tensors, double lr, double beta1,
                 double beta2, double eps, double weight_decay, bool amsgrad, Stream stream) {
  multi_tensor_apply("adam_update", table, rows_of(tensors, adam_constants(lr, beta1, beta2)),
                     adam_rule(lr, beta1, beta2, eps, weight_decay, false, amsgrad), stream);
}

void adamw_update(FusedTable& table, const FusedTensors& tensors, double lr, double beta1,
                  double beta2, double eps, double weight_decay, bool amsgrad, Stream stream) {
  multi_tensor_apply("adamw_update", table, rows_of(tensors, adam_constants(lr, beta1, beta2)),
                     adam_rule(lr, beta1, beta2, eps, weight_decay, true, amsgrad), stream);
}

void adagrad_update(FusedTable& table, const FusedTensors& tensors, double lr, double lr_decay,
                    double weight_decay, double eps, Stream stream) {
  const auto constants = [=](const FusedTensor& t, float* c) {
    c[0] = to_float(-(lr / (1.0 + static_cast<double>(t.step - 1) * lr_decay)));
  };
  const AdagradRule rule{to_float(weight_decay), to_float(eps), weight_decay != 0.0};
  multi_tensor_apply("adagrad_update", table, rows_of(tensors, constants), rule, stream);
}

void adadelta_update(FusedTable& table, const FusedTensors& tensors, double lr, double rho,
                     double eps, double weight_decay, Stream stream) {
  const AdadeltaRule rule{to_float(rho),  to_float(1.0 - rho),    to_float(eps),
                          to_float(-lr),  to_float(weight_decay), weight_decay != 0.0};
  multi_tensor_apply("adadelta_update", table, rows_of(tensors, no_constants), rule, stream);
}

void rmsprop_update(FusedTable& table, const FusedTensors& tensors, double lr, double alpha,
                    double eps, double weight_decay, bool centered, double momentum,
                    Stream stream) {
  const RmspropRule rule{to_float(alpha),        to_float(1.0 - alpha), to_float(eps),
                         to_float(-lr),          to_float(weight_decay), to_float(momentum),
                         weight_decay != 0.0,    centered,               momentum > 0.0};
  multi_tensor_apply("rmsprop_update", table, rows_of(tensors, no_constants), rule, stream);
}

void swats_update(FusedTable& table, const FusedTensors& tensors, double lr, double beta1,
                  double beta2, double eps, double weight_decay, bool sgd_phase, double sgd_lr,
                  double* s_dot_g, double* s_dot_s, Stream stream) {
  if (sgd_phase) {
    const SwatsSgdRule rule{to_float(beta1), to_float(weight_decay),
                            to_float(-(1.0 - beta1) * sgd_lr), weight_decay != 0.0};
    multi_tensor_apply("swats_sgd_update", table, rows_of(tensors, no_constants), rule, stream);
    return;
  }
  const auto constants = [=](const FusedTensor& t, float* c) {
    const double step = static_cast<double>(t.step);
    const double bc1 = 1.0 - std::pow(beta1, step), bc2 = 1.0 - std::pow(beta2, step);
    c[0] = to_float(-lr * std::sqrt(bc2) / bc1);
  };
  const SwatsAdamRule rule{to_float(beta1),     to_float(1.0 - beta1), to_float(beta2),
                           to_float(1.0 - beta2), to_float(eps),        to_float(weight_decay),
                           weight_decay != 0.0};
  const Table t = upload(table, rows_of(tensors, constants), stream);
  if (t.num_chunks == 0) return;
  double dots[2];
  reduce_to_host(t, 2, dots, stream, [&](const Partials& partials) {
    launch("swats_adam_update", swats_adam_kernel, static_cast<unsigned>(t.num_chunks),
           kChunkThreads, 0, stream, t, rule, partials);
  });
  *s_dot_g += dots[0];
  *s_dot_s += dots[1];
}

namespace {

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
    row.list[0][i] = mul(row.list[0][i], c);
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
                     ScaleRule{to_float(coef), nullptr}, stream);
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
  const float hi = to_float(clip_value);
  multi_tensor_apply("clip_grad_value", table, rows_of(grads, no_constants), ClampRule{-hi, hi},
                     stream);
}

}  // namespace danlu::kernels::cuda
