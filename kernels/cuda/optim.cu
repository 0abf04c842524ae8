// CUDA optimizer updates as multi-tensor launches (clipping: clip_grad.cu): one
// launch per param group (see multi_tensor.cuh). Each rule is the CPU loop of
// kernels/cpu/optim.cpp with every operation rounded on its own (__fadd_rn,
// __fmul_rn, ... keep the compiler from fusing multiply-adds), the group's
// scalars rounded to float once on the host as the CPU does, and the
// per-tensor step constants computed on the host in double. The reductions
// (SWATS's projections) run in double in a fixed order, in one launch whose
// last block combines the others' results (multi_tensor_reduce.cuh).
#include "kernels/optim.h"

#include <cmath>
#include <cstdint>

#include "kernels/cuda/multi_tensor_reduce.cuh"

namespace danlu::kernels::cuda {

namespace {

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

}  // namespace danlu::kernels::cuda
