// Softmax and log-softmax kernels along the middle axis of an
// (outer, dim, inner) view, which is softmax along any one dimension.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels::cpu {

// y = softmax(x) (or log_softmax(x) when `log`) over the `dim` axis, with the
// row maximum subtracted before exp so large logits cannot overflow.
template <class T>
void softmax_forward(const T* x /*(outer, dim, inner)*/, T* y /*(outer, dim, inner)*/,
                     int64_t outer, int64_t dim, int64_t inner, bool log);

// Given the forward output y and dy:
//   softmax:     dx = y * (dy - sum_k dy_k y_k)
//   log_softmax: dx = dy - exp(y) * sum_k dy_k
template <class T>
void softmax_backward(const T* y /*(outer, dim, inner)*/, const T* dy /*(outer, dim, inner)*/,
                      T* dx /*(outer, dim, inner)*/, int64_t outer, int64_t dim, int64_t inner,
                      bool log);

}  // namespace danlu::kernels::cpu

// The same kernels on a GPU (f32), enqueued on `stream`. Along the last axis
// (inner == 1) a warp owns each row of up to 1024 elements and a block each
// longer row; along another axis a thread owns each strided row, its
// neighbours the neighbouring columns.
namespace danlu::kernels::cuda {

void softmax_forward(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner,
                     bool log, Stream stream);

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t dim,
                      int64_t inner, bool log, Stream stream);

}  // namespace danlu::kernels::cuda
