// Optimizer update kernels: the per-element update rule of each optimizer,
// applied to one parameter tensor of n elements, plus the two gradient
// clipping loops. The math lives here once; the CUDA multi-tensor version
// applies the same rules. Every pointer is an n-element array shaped like the
// parameter; optional state pointers may be null when their option is off.
// The equations follow torch.optim (PyTorch 1.13, single-tensor path) in
// their operation order; g is the gradient, p the parameter.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/stream.h"

namespace danlu::kernels {
namespace cpu {

// SGD:
//   g = grad + weight_decay * p
//   buf = first_step ? g : momentum * buf + (1 - dampening) * g   (momentum != 0)
//   step = nesterov ? g + momentum * buf : buf                     (g when momentum == 0)
//   p -= lr * step
template <class T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, int64_t n, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov,
                bool first_step);

// Adam (L2 weight decay folded into the gradient), step t >= 1:
//   g = grad + weight_decay * p
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
//   v_max = max(v_max, v)                                  (amsgrad: v_max non-null)
//   denom = sqrt(amsgrad ? v_max : v) / sqrt(1 - beta2^t) + eps
//   p -= lr / (1 - beta1^t) * m / denom
template <class T>
void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
                 int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, int64_t step);

// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter):
//   p *= 1 - lr * weight_decay
//   then Adam's moments and update with the raw gradient g = grad.
template <class T>
void adamw_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, int64_t step);

// Adagrad, step t >= 1:
//   g = grad + weight_decay * p
//   clr = lr / (1 + (t - 1) * lr_decay)
//   sum += g^2
//   p -= clr * g / (sqrt(sum) + eps)
template <class T>
void adagrad_update(T* param, const T* grad, T* sum, int64_t n, double lr, double lr_decay,
                    double weight_decay, double eps, int64_t step);

// Adadelta:
//   g = grad + weight_decay * p
//   sq = rho * sq + (1 - rho) * g^2
//   delta = sqrt(acc + eps) / sqrt(sq + eps) * g
//   acc = rho * acc + (1 - rho) * delta^2
//   p -= lr * delta
template <class T>
void adadelta_update(T* param, const T* grad, T* square_avg, T* acc_delta, int64_t n,
                     double lr, double rho, double eps, double weight_decay);

// RMSprop:
//   g = grad + weight_decay * p
//   sq = alpha * sq + (1 - alpha) * g^2
//   ga = alpha * ga + (1 - alpha) * g                       (centered: grad_avg non-null)
//   avg = sqrt(centered ? sq - ga^2 : sq) + eps
//   buf = momentum * buf + g / avg;  p -= lr * buf          (momentum > 0)
//   p -= lr * g / avg                                        (otherwise)
template <class T>
void rmsprop_update(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer,
                    int64_t n, double lr, double alpha, double eps, double weight_decay,
                    double momentum);

// SWATS (Keskar & Socher 2017, Algorithm 1), g = grad + weight_decay * p.
// Adam phase (sgd_phase false), step t >= 1:
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
//   s = -lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps);  p += s
//   *s_dot_g += s . g;  *s_dot_s += s . s   (accumulated in double: the caller
//                                            sums them over the group)
// SGD phase (sgd_phase true): buf = beta1 * buf + g;  p -= (1 - beta1) * sgd_lr * buf
// exp_avg/exp_avg_sq are unused in the SGD phase, momentum_buffer in the Adam phase.
template <class T>
void swats_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* momentum_buffer,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, int64_t step, bool sgd_phase, double sgd_lr,
                  double* s_dot_g, double* s_dot_s);

// Gradient clipping. clip_grad_norm_part returns, for norm_type p, sum |g|^p
// (p finite) or max |g| (p = inf; NaN when any element is NaN).
template <class T>
double clip_grad_norm_part(const T* grad, int64_t n, double norm_type);
// g *= coef (clip_grad_norm_'s rescale; NaN and inf elements stay non-finite).
template <class T>
void clip_grad_scale(T* grad, int64_t n, double coef);
// g = clamp(g, -clip_value, clip_value); NaN stays NaN.
template <class T>
void clip_grad_value(T* grad, int64_t n, double clip_value);

}  // namespace cpu

// The same rules on a GPU (f32) as multi-tensor updates: one launch applies
// a rule to every tensor of a param group. Each kernel rounds every operation
// as the CPU loop above is written (no fused multiply-adds), and per-step
// scalars are computed on the host in double exactly as the CPU does.
namespace cuda {

// One tensor of a fused launch, in device memory: the parameter's n elements,
// its gradient and up to three state buffers (in the order each function
// below lists; null where unused). `step` counts this parameter's updates
// including the current one (a parameter that had no gradient on some steps
// lags its group); `fresh` marks state created for this step (SGD starts its
// momentum buffer from the gradient). The clipping functions use only
// `param` (the gradient they read or rewrite) and `n`.
struct FusedTensor {
  float* param = nullptr;
  const float* grad = nullptr;
  float* state[3] = {nullptr, nullptr, nullptr};
  int64_t n = 0;
  int64_t step = 0;
  bool fresh = false;
};

// Where a launch's table of tensors and chunks travels: a pinned host buffer
// and a device buffer (an async copy on the launch's stream between them).
// Kept from step to step, one per param group, so neither is allocated per
// step; the host waits only if it would overwrite a copy still in flight.
class FusedTable {
 public:
  FusedTable();
  ~FusedTable();
  FusedTable(const FusedTable&) = delete;
  FusedTable& operator=(const FusedTable&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

using FusedTensors = std::vector<FusedTensor>;

// state: {momentum_buffer (momentum != 0)}.
void sgd_update(FusedTable& table, const FusedTensors& tensors, double lr, double momentum,
                double dampening, double weight_decay, bool nesterov, Stream stream);
// state: {exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad)}.
void adam_update(FusedTable& table, const FusedTensors& tensors, double lr, double beta1,
                 double beta2, double eps, double weight_decay, bool amsgrad, Stream stream);
void adamw_update(FusedTable& table, const FusedTensors& tensors, double lr, double beta1,
                  double beta2, double eps, double weight_decay, bool amsgrad, Stream stream);
// state: {sum}.
void adagrad_update(FusedTable& table, const FusedTensors& tensors, double lr, double lr_decay,
                    double weight_decay, double eps, Stream stream);
// state: {square_avg, acc_delta}.
void adadelta_update(FusedTable& table, const FusedTensors& tensors, double lr, double rho,
                     double eps, double weight_decay, Stream stream);
// state: {square_avg, grad_avg (centered), momentum_buffer (momentum > 0)}.
void rmsprop_update(FusedTable& table, const FusedTensors& tensors, double lr, double alpha,
                    double eps, double weight_decay, bool centered, double momentum,
                    Stream stream);
// state: {exp_avg, exp_avg_sq} in the Adam phase, {momentum_buffer} in the SGD
// phase. The Adam phase adds s.g and s.s over all tensors to *s_dot_g and
// *s_dot_s (a deterministic reduction in the same launch; the host waits for
// them).
void swats_update(FusedTable& table, const FusedTensors& tensors, double lr, double beta1,
                  double beta2, double eps, double weight_decay, bool sgd_phase, double sgd_lr,
                  double* s_dot_g, double* s_dot_s, Stream stream);

// sum |g|^p over all tensors (p finite) or max |g| (p = inf; NaN when any
// element is NaN) in one launch: per-chunk partial results in double, which
// the last block to finish combines in chunk order (no float atomics, the
// same bits every run); the host waits for the result.
double clip_grad_norm_part(FusedTable& table, const FusedTensors& grads, double norm_type,
                           Stream stream);
void clip_grad_scale(FusedTable& table, const FusedTensors& grads, double coef, Stream stream);
// All of clip_grad_norm_ for the gradients of one GPU, without the host
// waiting: the norm launch above also writes the total norm (as a float) to
// *norm on the device and keeps min(max_norm / (norm + 1e-6), 1) in double
// there, which the rescale launch reads.
void clip_grad_norm_on_device(FusedTable& table, const FusedTensors& grads, double norm_type,
                              double max_norm, float* norm, Stream stream);
void clip_grad_value(FusedTable& table, const FusedTensors& grads, double clip_value,
                     Stream stream);

}  // namespace cuda
}  // namespace danlu::kernels
