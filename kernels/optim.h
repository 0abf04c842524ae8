// Optimizer update kernels: the per-element update rule of each optimizer,
// applied to one parameter tensor. The math lives here once; the CUDA
// multi-tensor version applies the same rule.
#pragma once

#include <cstdint>

namespace danlu::kernels::cpu {

// PyTorch's SGD for one parameter of n elements:
//   g = grad + weight_decay * param
//   buf = first_step ? g : momentum * buf + (1 - dampening) * g   (momentum != 0)
//   step = nesterov ? g + momentum * buf : buf                     (g when momentum == 0)
//   param -= lr * step
// `momentum_buffer` may be null when momentum == 0.
template <class T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, int64_t n, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov,
                bool first_step);

}  // namespace danlu::kernels::cpu
