// The direct CPU convolution for 3x3 filters at stride 1 (ResNet's
// layers), forward, dx and dweight: no lowered matrix and no GEMM packing;
// see kernels/cpu/conv_direct.cpp. kernels/cpu/conv.cpp calls it where it is
// faster (cpu_conv_path() in kernels/conv.h), and lowers to GEMM otherwise.
#pragma once

#include <cstdint>

#include "kernels/conv.h"

namespace danlu::kernels::cpu {

// What the direct kernels compute: 3x3, stride 1, dilation 1, one group,
// padding 0 to 2 on each axis.
bool conv2d_direct_supports(const Conv2dShape& s);
// Where they measured faster than the lowered path: the forward and dx for
// outputs at least 8 wide with 16 to 32 channels in and out (ResNet-20's
// first two stages); the weight gradient from 16 input channels up to 64
// output channels.
bool conv2d_direct_is_faster(const Conv2dShape& s);
bool conv2d_direct_weight_is_faster(const Conv2dShape& s);

// Elements of scratch memory the three functions below need (it depends on
// omp_get_max_threads(), so ask just before the call).
int64_t conv2d_direct_workspace(const Conv2dShape& s);

// conv2d_forward's contract (kernels/conv.h), and conv2d_backward's for dx
// alone, for shapes conv2d_direct_supports() accepts.
template <class T>
void conv2d_direct_forward(const T* x, const T* weight, const T* bias, T* y, T* workspace,
                           const Conv2dShape& s);
template <class T>
void conv2d_direct_backward_data(const T* weight, const T* dy, T* dx, T* workspace,
                                 const Conv2dShape& s);
// conv2d_backward's contract for dweight alone.
template <class T>
void conv2d_direct_backward_weight(const T* x, const T* dy, T* dweight, T* workspace,
                                   const Conv2dShape& s);

}  // namespace danlu::kernels::cpu
