// CPU reference for the optimizer update rules and gradient clipping
// (equations in kernels/optim.h). Scalars arrive as double and are rounded to
// T once, as PyTorch does for a float tensor; each loop keeps PyTorch's
// operation order so f64 runs agree with it to a few ulps.
#include "kernels/optim.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace danlu::kernels::cpu {

// Element loops run in parallel only when the tensor is large enough to pay
// for the threads.
constexpr int64_t kParallelMin = 1 << 16;

template <class T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, int64_t n, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov,
                bool first_step) {
  const T lr_t = static_cast<T>(lr), mom = static_cast<T>(momentum);
  const T damp = static_cast<T>(1.0 - dampening), wd = static_cast<T>(weight_decay);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i];
    if (weight_decay != 0.0) g += wd * param[i];
    if (momentum != 0.0) {
      T& buf = momentum_buffer[i];
      buf = first_step ? g : mom * buf + damp * g;
      g = nesterov ? g + mom * buf : buf;
    }
    param[i] -= lr_t * g;
  }
}

// The per-step constants of Adam and AdamW: b = {beta1, 1 - beta1, beta2,
// 1 - beta2}, the bias-corrected step -lr / (1 - beta1^t) and sqrt(1 - beta2^t).
template <class T>
struct AdamStep {
  AdamStep(double lr, double beta1, double beta2, double eps_, int64_t step)
      : b{static_cast<T>(beta1), static_cast<T>(1.0 - beta1), static_cast<T>(beta2),
          static_cast<T>(1.0 - beta2)},
        eps(static_cast<T>(eps_)),
        neg_step(static_cast<T>(-(lr / (1.0 - std::pow(beta1, static_cast<double>(step)))))),
        bc2_sqrt(static_cast<T>(std::sqrt(1.0 - std::pow(beta2, static_cast<double>(step))))) {}
  T b[4];
  T eps, neg_step, bc2_sqrt;

  // Adam's moment updates and parameter step for one element; shared by
  // Adam and AdamW, which differ only in where the weight decay enters.
  void apply(T& p, T g, T& m, T& v, T* v_max) const {
    m = m * b[0] + b[1] * g;
    v = v * b[2] + b[3] * g * g;
    if (v_max) *v_max = std::max(*v_max, v);
    const T denom = std::sqrt(v_max ? *v_max : v) / bc2_sqrt + eps;
    p += neg_step * m / denom;
  }
};

template <class T>
void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
                 int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, int64_t step) {
  const AdamStep<T> adam(lr, beta1, beta2, eps, step);
  const T wd = static_cast<T>(weight_decay);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i];
    if (weight_decay != 0.0) g += wd * param[i];
    adam.apply(param[i], g, exp_avg[i], exp_avg_sq[i],
               max_exp_avg_sq ? max_exp_avg_sq + i : nullptr);
  }
}

template <class T>
void adamw_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, int64_t step) {
  const AdamStep<T> adam(lr, beta1, beta2, eps, step);
  const T decay = static_cast<T>(1.0 - lr * weight_decay);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    param[i] *= decay;
    adam.apply(param[i], grad[i], exp_avg[i], exp_avg_sq[i],
               max_exp_avg_sq ? max_exp_avg_sq + i : nullptr);
  }
}

template <class T>
void adagrad_update(T* param, const T* grad, T* sum, int64_t n, double lr, double lr_decay,
                    double weight_decay, double eps, int64_t step) {
  const T neg_clr = static_cast<T>(-(lr / (1.0 + static_cast<double>(step - 1) * lr_decay)));
  const T wd = static_cast<T>(weight_decay), e = static_cast<T>(eps);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i];
    if (weight_decay != 0.0) g += wd * param[i];
    sum[i] += g * g;
    param[i] += neg_clr * g / (std::sqrt(sum[i]) + e);
  }
}

template <class T>
void adadelta_update(T* param, const T* grad, T* square_avg, T* acc_delta, int64_t n,
                     double lr, double rho, double eps, double weight_decay) {
  const T r = static_cast<T>(rho), one_r = static_cast<T>(1.0 - rho), e = static_cast<T>(eps);
  const T neg_lr = static_cast<T>(-lr), wd = static_cast<T>(weight_decay);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i];
    if (weight_decay != 0.0) g += wd * param[i];
    square_avg[i] = square_avg[i] * r + one_r * g * g;
    const T delta = std::sqrt(acc_delta[i] + e) / std::sqrt(square_avg[i] + e) * g;
    acc_delta[i] = acc_delta[i] * r + one_r * delta * delta;
    param[i] += neg_lr * delta;
  }
}

template <class T>
void rmsprop_update(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer,
                    int64_t n, double lr, double alpha, double eps, double weight_decay,
                    double momentum) {
  const T a = static_cast<T>(alpha), one_a = static_cast<T>(1.0 - alpha);
  const T e = static_cast<T>(eps), neg_lr = static_cast<T>(-lr);
  const T wd = static_cast<T>(weight_decay), mom = static_cast<T>(momentum);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i];
    if (weight_decay != 0.0) g += wd * param[i];
    square_avg[i] = square_avg[i] * a + one_a * g * g;
    T avg;
    if (grad_avg) {
      grad_avg[i] = grad_avg[i] * a + one_a * g;
      avg = std::sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]);
    } else {
      avg = std::sqrt(square_avg[i]);
    }
    avg += e;
    if (momentum_buffer) {
      momentum_buffer[i] = momentum_buffer[i] * mom + g / avg;
      param[i] += neg_lr * momentum_buffer[i];
    } else {
      param[i] += neg_lr * g / avg;
    }
  }
}

template <class T>
void swats_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* momentum_buffer,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, int64_t step, bool sgd_phase, double sgd_lr,
                  double* s_dot_g, double* s_dot_s) {
  const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2), e = static_cast<T>(eps);
  const T wd = static_cast<T>(weight_decay);
  if (sgd_phase) {
    const T neg_rate = static_cast<T>(-(1.0 - beta1) * sgd_lr);
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      T g = grad[i];
      if (weight_decay != 0.0) g += wd * param[i];
      momentum_buffer[i] = b1 * momentum_buffer[i] + g;
      param[i] += neg_rate * momentum_buffer[i];
    }
    return;
  }
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  const T neg_rate = static_cast<T>(-lr * std::sqrt(bc2) / bc1);
  const T one_b1 = static_cast<T>(1.0 - beta1), one_b2 = static_cast<T>(1.0 - beta2);
  double sg = 0, ss = 0;
#pragma omp parallel for reduction(+ : sg, ss) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i];
    if (weight_decay != 0.0) g += wd * param[i];
    exp_avg[i] = b1 * exp_avg[i] + one_b1 * g;
    exp_avg_sq[i] = b2 * exp_avg_sq[i] + one_b2 * g * g;
    const T s = neg_rate * exp_avg[i] / (std::sqrt(exp_avg_sq[i]) + e);
    param[i] += s;
    sg += static_cast<double>(s) * static_cast<double>(g);
    ss += static_cast<double>(s) * static_cast<double>(s);
  }
  *s_dot_g += sg;
  *s_dot_s += ss;
}

template <class T>
double clip_grad_norm_part(const T* grad, int64_t n, double norm_type) {
  if (std::isinf(norm_type)) {
    double m = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double a = std::abs(static_cast<double>(grad[i]));
      if (std::isnan(a)) return std::numeric_limits<double>::quiet_NaN();
      if (a > m) m = a;
    }
    return m;
  }
  double s = 0;
#pragma omp parallel for reduction(+ : s) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::abs(static_cast<double>(grad[i]));
    s += norm_type == 2.0 ? a * a : norm_type == 1.0 ? a : std::pow(a, norm_type);
  }
  return s;
}

template <class T>
void clip_grad_scale(T* grad, int64_t n, double coef) {
  const T c = static_cast<T>(coef);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) grad[i] *= c;
}

template <class T>
void clip_grad_value(T* grad, int64_t n, double clip_value) {
  const T hi = static_cast<T>(clip_value), lo = -hi;
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];  // comparisons with NaN are false: NaN passes through
    grad[i] = g < lo ? lo : (g > hi ? hi : g);
  }
}

#define DANLU_OPTIM_INSTANTIATE(T)                                                              \
  template void sgd_update<T>(T*, const T*, T*, int64_t, double, double, double, double, bool, \
                              bool);                                                           \
  template void adam_update<T>(T*, const T*, T*, T*, T*, int64_t, double, double, double,      \
                               double, double, int64_t);                                       \
  template void adamw_update<T>(T*, const T*, T*, T*, T*, int64_t, double, double, double,     \
                                double, double, int64_t);                                      \
  template void adagrad_update<T>(T*, const T*, T*, int64_t, double, double, double, double,   \
                                  int64_t);                                                    \
  template void adadelta_update<T>(T*, const T*, T*, T*, int64_t, double, double, double,      \
                                   double);                                                    \
  template void rmsprop_update<T>(T*, const T*, T*, T*, T*, int64_t, double, double, double,   \
                                  double, double);                                             \
  template void swats_update<T>(T*, const T*, T*, T*, T*, int64_t, double, double, double,     \
                                double, double, int64_t, bool, double, double*, double*);      \
  template double clip_grad_norm_part<T>(const T*, int64_t, double);                          \
  template void clip_grad_scale<T>(T*, int64_t, double);                                       \
  template void clip_grad_value<T>(T*, int64_t, double);

DANLU_OPTIM_INSTANTIATE(float)
DANLU_OPTIM_INSTANTIATE(double)

}  // namespace danlu::kernels::cpu
