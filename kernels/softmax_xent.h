// Fused softmax cross-entropy over class indices: log-softmax and the
// (label-smoothed) negative log-likelihood in one pass per row, and the
// backward softmax - smoothed one-hot without materialising either.
#pragma once

#include <cstdint>

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
