// cuDNN as the comparison backend: conv2d (forward, backward-data,
// backward-filter, bias) and batch norm in training mode through cuDNN 9's
// legacy API, f32 and NCHW, with the contracts of the kernels::cpu functions
// of the same names. The profiler and `--conv-backend cudnn` use it; danlu's
// own kernels are the default. Compiled only when CMake finds cuDNN
// (DANLU_WITH_CUDNN); danlu::set_conv_backend says so otherwise.
//
// Convolutions run in strict FP32 (CUDNN_FMA_MATH) or, where allow_tf32 is
// true, may use TF32 tensor cores (CUDNN_DEFAULT_MATH), so that a comparison
// with danlu's kernels is FP32 against FP32 or TF32 against TF32; they use
// only algorithms cuDNN reports deterministic. Scratch memory comes from the
// stream-ordered pool.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/conv.h"
#include "kernels/stream.h"

namespace danlu::kernels::cudnn {

// The loaded library's version, "9.19.0" (cudnnGetVersion; needs no GPU).
std::string version();

void conv2d_forward(const float* x, const float* weight, const float* bias, float* y,
                    const Conv2dShape& s, Stream stream, bool allow_tf32);
// A null output skips that gradient, as in kernels::cpu::conv2d_backward.
void conv2d_backward(const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, float* dbias, const Conv2dShape& s, Stream stream,
                     bool allow_tf32);

// kernels::cpu::batchnorm_forward_train over (N, C, S), except that weight
// and bias are required (cuDNN has no default scale).
void batchnorm_forward_train(const float* x, const float* weight, const float* bias, float* y,
                             float* save_mean, float* save_invstd, float* running_mean,
                             float* running_var, int64_t N, int64_t C, int64_t S,
                             double momentum, double eps, Stream stream);
// kernels::cpu::batchnorm_backward in training mode; dx, dweight and dbias
// are all written. eps is the forward's (cuDNN asks for it again).
void batchnorm_backward_train(const float* dy, const float* x, const float* weight,
                              const float* save_mean, const float* save_invstd, float* dx,
                              float* dweight, float* dbias, int64_t N, int64_t C, int64_t S,
                              double eps, Stream stream);

}  // namespace danlu::kernels::cudnn
