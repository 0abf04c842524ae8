// The softmax of attention scores, fused with their scaling and mask:
// y = softmax(scale * x + mask) along each row of an (rows, cols) matrix, and
// its backward. Attention calls it on (batch * heads * queries, keys) scores.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels::cpu {

// y[r, k] = exp(z[r, k] - max_k z[r, :]) / sum_k exp(...), where
// z[r, k] = scale * x[r, k] + mask[r % mask_rows, k]. `mask` is additive
// (0 keeps a score, -inf drops it) and may be null (no mask, mask_rows
// ignored). A row whose every z is -inf has no distribution: its y is 0.
template <class T>
void scaled_masked_softmax_forward(const T* x /*(rows, cols)*/,
                                   const T* mask /*(mask_rows, cols) or null*/,
                                   T* y /*(rows, cols)*/, int64_t rows, int64_t cols,
                                   int64_t mask_rows, T scale);

// dx = scale * y * (dy - sum_k dy_k y_k) from the forward output y; the
// mask is a constant and needs no gradient.
template <class T>
void scaled_masked_softmax_backward(const T* y /*(rows, cols)*/, const T* dy /*(rows, cols)*/,
                                    T* dx /*(rows, cols)*/, int64_t rows, int64_t cols,
                                    T scale);

// additive[i] = -inf where drop[i] != 0 (a boolean mask: that key is
// dropped), else 0: the form the softmax above adds to its scores.
template <class T>
void boolean_to_additive_mask(const int64_t* drop, T* additive, int64_t n);

}  // namespace danlu::kernels::cpu

// The same kernels on a GPU (f32), enqueued on `stream`: one launch each way.
// A warp owns each row of up to 1024 columns, a block each longer row.
namespace danlu::kernels::cuda {

void scaled_masked_softmax_forward(const float* x, const float* mask, float* y, int64_t rows,
                                   int64_t cols, int64_t mask_rows, float scale, Stream stream);

void scaled_masked_softmax_backward(const float* y, const float* dy, float* dx, int64_t rows,
                                    int64_t cols, float scale, Stream stream);

// The boolean mask's conversion on the GPU, so that a mask never visits the
// host in a training step.
void boolean_to_additive_mask(const int64_t* drop, float* additive, int64_t n, Stream stream);

}  // namespace danlu::kernels::cuda
