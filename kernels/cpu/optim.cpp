// CPU reference for the optimizer update rules.
#include "kernels/optim.h"

namespace danlu::kernels::cpu {

template <class T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, int64_t n, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov,
                bool first_step) {
  const T lr_t = static_cast<T>(lr), mom = static_cast<T>(momentum);
  const T damp = static_cast<T>(1.0 - dampening), wd = static_cast<T>(weight_decay);
#pragma omp parallel for if (n > (1 << 16))
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

template void sgd_update<float>(float*, const float*, float*, int64_t, double, double, double,
                                double, bool, bool);
template void sgd_update<double>(double*, const double*, double*, int64_t, double, double,
                                 double, double, bool, bool);

}  // namespace danlu::kernels::cpu
