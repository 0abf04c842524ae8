// Batch normalisation kernels over an (N, C, S) view of (N, C, ...) input:
// statistics per channel c over the M = N * S values x[n, c, s].
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels::cpu {

// Training: mean and biased variance of each channel over the batch (in
// double), y = (x - mean) * invstd * weight + bias with invstd =
// 1 / sqrt(var + eps). Saves mean and invstd (C) for the backward. When
// running_mean/running_var are non-null they move towards the batch:
// running = (1 - momentum) * running + momentum * stat, using the unbiased
// variance var * M / (M - 1) (needs M > 1). weight/bias may be null (1 and 0).
template <class T>
void batchnorm_forward_train(const T* x /*(N, C, S)*/, const T* weight /*(C)*/,
                             const T* bias /*(C)*/, T* y /*(N, C, S)*/, T* save_mean /*(C)*/,
                             T* save_invstd /*(C)*/, T* running_mean /*(C)*/,
                             T* running_var /*(C)*/, int64_t N, int64_t C, int64_t S,
                             double momentum, double eps);

// Eval: the same affine map with mean = running_mean and invstd =
// 1 / sqrt(running_var + eps); saves both so the backward does not depend on
// the running buffers, which later training steps overwrite.
template <class T>
void batchnorm_forward_eval(const T* x /*(N, C, S)*/, const T* weight /*(C)*/,
                            const T* bias /*(C)*/, const T* running_mean /*(C)*/,
                            const T* running_var /*(C)*/, T* y /*(N, C, S)*/,
                            T* save_mean /*(C)*/, T* save_invstd /*(C)*/, int64_t N, int64_t C,
                            int64_t S, double eps);

// With xhat = (x - mean) * invstd and w = weight (1 when null):
//   dbias = sum dy, dweight = sum dy * xhat (sums over n and s),
//   training: dx = w * invstd * (dy - dbias / M - xhat * dweight / M)
//             (the batch statistics depend on x),
//   eval:     dx = w * invstd * dy (they are constants).
// Any of dx, dweight, dbias may be null when that gradient is not needed.
template <class T>
void batchnorm_backward(const T* dy /*(N, C, S)*/, const T* x /*(N, C, S)*/,
                        const T* weight /*(C)*/, const T* save_mean /*(C)*/,
                        const T* save_invstd /*(C)*/, T* dx /*(N, C, S)*/, T* dweight /*(C)*/,
                        T* dbias /*(C)*/, int64_t N, int64_t C, int64_t S, bool training);

}  // namespace danlu::kernels::cpu

// The same kernels on a GPU (f32), enqueued on `stream`. The statistics are
// reduced from per (channel, chunk) partials that the channel's last block
// merges in a fixed order, in the same launch, so a channel's N * S values
// spread over many blocks and repeated runs give identical bits.
namespace danlu::kernels::cuda {

void batchnorm_forward_train(const float* x, const float* weight, const float* bias, float* y,
                             float* save_mean, float* save_invstd, float* running_mean,
                             float* running_var, int64_t N, int64_t C, int64_t S,
                             double momentum, double eps, Stream stream);

void batchnorm_forward_eval(const float* x, const float* weight, const float* bias,
                            const float* running_mean, const float* running_var, float* y,
                            float* save_mean, float* save_invstd, int64_t N, int64_t C,
                            int64_t S, double eps, Stream stream);

void batchnorm_backward(const float* dy, const float* x, const float* weight,
                        const float* save_mean, const float* save_invstd, float* dx,
                        float* dweight, float* dbias, int64_t N, int64_t C, int64_t S,
                        bool training, Stream stream);

// Batch norm followed by ReLU in one pass over the output: y = max(bn(x), 0),
// with the same arguments and saved statistics as batchnorm_forward_*.
void batchnorm_relu_forward_train(const float* x, const float* weight, const float* bias,
                                  float* y, float* save_mean, float* save_invstd,
                                  float* running_mean, float* running_var, int64_t N, int64_t C,
                                  int64_t S, double momentum, double eps, Stream stream);

void batchnorm_relu_forward_eval(const float* x, const float* weight, const float* bias,
                                 const float* running_mean, const float* running_var, float* y,
                                 float* save_mean, float* save_invstd, int64_t N, int64_t C,
                                 int64_t S, double eps, Stream stream);

// The backward of the pair: dy passes where the fused output y is positive
// (ReLU's derivative, read from y as activation_backward does) and then
// through batchnorm_backward, without materialising the masked gradient.
void batchnorm_relu_backward(const float* y, const float* dy, const float* x,
                             const float* weight, const float* save_mean,
                             const float* save_invstd, float* dx, float* dweight, float* dbias,
                             int64_t N, int64_t C, int64_t S, bool training, Stream stream);

}  // namespace danlu::kernels::cuda
