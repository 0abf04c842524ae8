// Layer normalisation kernels over an (M, D) view: each of the M rows is
// normalised over its D trailing elements (the normalized_shape).
#pragma once

#include <cstdint>

#include "kernels/stream.h"

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

// The same kernels on a GPU (f32), enqueued on `stream`: one warp per row up
// to 1024 elements, one block per row beyond; the column sums of the
// parameter gradients are reduced in two stages in a fixed order (no atomics).
namespace danlu::kernels::cuda {

void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t M, int64_t D, double eps,
                       Stream stream);

void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t M,
                        int64_t D, Stream stream);

}  // namespace danlu::kernels::cuda
