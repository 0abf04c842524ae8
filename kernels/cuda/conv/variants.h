// The rungs of the convolution ladder, one function per file
// (kernels/cuda/conv/N_*.cu) that describes its variant; variants.cu lists
// them in order. A new rung is one declaration here and one table entry.
#pragma once

#include "kernels/conv.h"

namespace danlu::kernels::cuda {

ConvVariant naive_direct_variant();   // 1_naive_direct.cu
ConvVariant tiled_direct_variant();   // 2_tiled_direct.cu
ConvVariant implicit_gemm_variant();  // 3_implicit_gemm.cu
ConvVariant register_blocked_variant();  // 4_register_blocked.cu
ConvVariant tf32_tensor_core_variant();  // 5_tf32_tensor_core.cu

// dbias (O) = the sum of dy (N, O, OH, OW) over N, OH and OW, the same for
// every variant (bias_grad.cu); workspace: bias_grad_workspace(s) floats,
// 8-byte aligned.
int64_t bias_grad_workspace(const Conv2dShape& s);
void bias_grad(const float* dy, float* dbias, float* workspace, const Conv2dShape& s,
               Stream stream);

}  // namespace danlu::kernels::cuda
