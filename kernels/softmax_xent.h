// Fused softmax cross-entropy over class indices: log-softmax and the
// (label-smoothed) negative log-likelihood in one pass per row, and the
// backward softmax - smoothed one-hot without materialising either.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels::cpu {

// Per row i with t = target[i], lse_i = log(sum_c exp(logits_ic)) and
// eps = label_smoothing (PyTorch's definition):
//   loss_i = (1 - eps) * (lse_i - logits_it) + eps / C * sum_c (lse_i - logits_ic)
// Writes loss (N) and lse (N), which the backward reuses. Targets must
// already be checked to lie in [0, C).
template <class T>
void softmax_xent_forward(const T* logits /*(N, C)*/, const int64_t* target /*(N)*/,
                          T* loss /*(N)*/, T* lse /*(N)*/, int64_t N, int64_t C,
                          double label_smoothing);

// dlogits_ic = g_i * (exp(logits_ic - lse_i) - (1 - eps) [c == t_i] - eps / C),
// where g_i = dloss[i * dloss_stride] * dloss_scale: stride 1 for reduction
// none, stride 0 (one scalar) with scale 1/N for mean and 1 for sum.
template <class T>
void softmax_xent_backward(const T* logits /*(N, C)*/, const int64_t* target /*(N)*/,
                           const T* lse /*(N)*/, const T* dloss, int64_t dloss_stride,
                           double dloss_scale, T* dlogits /*(N, C)*/, int64_t N, int64_t C,
                           double label_smoothing);

}  // namespace danlu::kernels::cpu

// The same kernels on a GPU (f32), enqueued on `stream`: a warp per row up to
// 1024 classes, a block per longer row. Targets live on the GPU, where the
// host cannot check them without waiting for the device: a target outside
// [0, C) gives that row a NaN loss instead of reading outside the row.
namespace danlu::kernels::cuda {

void softmax_xent_forward(const float* logits, const int64_t* target, float* loss, float* lse,
                          int64_t N, int64_t C, double label_smoothing, Stream stream);

void softmax_xent_backward(const float* logits, const int64_t* target, const float* lse,
                           const float* dloss, int64_t dloss_stride, double dloss_scale,
                           float* dlogits, int64_t N, int64_t C, double label_smoothing,
                           Stream stream);

// out[0] = scale * sum of loss (N), added in a fixed order by one block (the
// mean and sum reductions, with scale 1/N and 1): no atomics, so repeated
// runs give the same bits.
void softmax_xent_reduce(const float* loss, int64_t N, double scale, float* out, Stream stream);

}  // namespace danlu::kernels::cuda
