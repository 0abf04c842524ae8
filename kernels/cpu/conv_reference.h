// The plain reference conv2d: the definition written as loop nests, the
// oracle every convolution kernel is tested against (the tuned CPU path in
// kernels/cpu/conv.cpp and the CUDA kernels alike). Deliberately slow; not
// called by the engine.
#pragma once

#include "kernels/conv.h"

namespace danlu::kernels::reference {

// y (N, O, OH, OW) = conv(x (N, C, H, W), weight (O, C/groups, KH, KW))
// + bias (O) (bias may be null).
template <class T>
void conv2d_forward(const T* x, const T* weight, const T* bias, T* y, const Conv2dShape& s);
// dx (N, C, H, W) from weight (O, C/groups, KH, KW) and dy (N, O, OH, OW).
template <class T>
void conv2d_backward_data(const T* weight, const T* dy, T* dx, const Conv2dShape& s);
// dweight (O, C/groups, KH, KW) and dbias (O) (may be null) from x (N, C, H, W)
// and dy (N, O, OH, OW).
template <class T>
void conv2d_backward_weight(const T* x, const T* dy, T* dweight, T* dbias, const Conv2dShape& s);

}  // namespace danlu::kernels::reference
