// Layer normalisation kernels over an (M, D) view: each of the M rows is
// normalised over its D trailing elements (the normalized_shape).
#pragma once

#include <cstdint>

namespace danlu::kernels::cpu {

// y = (x - mean) * rstd * weight + bias per row, with the row's mean and
// biased variance computed in double and rstd = 1 / sqrt(var + eps). Saves
// mean and rstd (M) for the backward. weight/bias may be null (1 and 0).
template <class T>
void layernorm_forward(const T* x /*(M, D)*/, const T* weight /*(D)*/, const T* bias /*(D)*/,
                       T* y /*(M, D)*/, T* mean /*(M)*/, T* rstd /*(M)*/, int64_t M, int64_t D,
                       double eps);

// With xhat = (x - mean) * rstd and g = dy * weight:
//   dx = rstd * (g - mean_d(g) - xhat * mean_d(g * xhat))   per row,
//   dweight = sum_m dy * xhat, dbias = sum_m dy               per column.
// Any of dx, dweight, dbias may be null when that gradient is not needed.
template <class T>
void layernorm_backward(const T* dy /*(M, D)*/, const T* x /*(M, D)*/, const T* weight /*(D)*/,
                        const T* mean /*(M)*/, const T* rstd /*(M)*/, T* dx /*(M, D)*/,
                        T* dweight /*(D)*/, T* dbias /*(D)*/, int64_t M, int64_t D);

}  // namespace danlu::kernels::cpu
