// Pooling kernels over (planes, H, W) data, planes = N*C: max pooling (with
// argmax indices for the backward), average pooling and adaptive average
// pooling. Raw pointers, no autograd.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels {

// x (planes, H, W) -> y (planes, OH, OW). Window (oy, ox) covers rows
// [oy*stride_h - pad_h, + kh) and columns [ox*stride_w - pad_w, + kw).
// The adaptive pools use only planes, h, w, oh and ow.
struct Pool2dShape {
  int64_t planes = 0, h = 0, w = 0;
  int64_t oh = 0, ow = 0;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
};

namespace cpu {

// y = the window maxima (padding counts as -inf; the first maximum wins; a
// NaN wins over numbers), indices = each maximum's offset iy*W + ix in its
// plane, an int32 (the caller checks that H*W fits). y, indices (planes, OH, OW).
template <class T>
void max_pool2d_forward(const T* x, T* y, int32_t* indices, const Pool2dShape& s);
// dx (planes, H, W) = dy (planes, OH, OW) scattered back through indices;
// overwrites dx.
template <class T>
void max_pool2d_backward(const T* dy, const int32_t* indices, T* dx, const Pool2dShape& s);

// y = the window means. The divisor is the window's size clipped to the
// padded input (count_include_pad) or to the input itself.
template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dShape& s, bool count_include_pad);
// dx (planes, H, W) = each dy spread evenly over its window; overwrites dx.
template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dShape& s, bool count_include_pad);

// y = bin means with bins [floor(i*H/OH), ceil((i+1)*H/OH)) per axis.
template <class T> void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dShape& s);
// dx = each dy spread evenly over its bin; overwrites dx.
template <class T> void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dShape& s);

}  // namespace cpu

// The CPU functions' contracts, in f32 on the device, enqueued on `stream`
// (indices live on the device too). The backwards gather: each dx element
// sums the windows that contain it in the CPU's order, so no atomics.
namespace cuda {
void max_pool2d_forward(const float* x, float* y, int32_t* indices, const Pool2dShape& s,
                        Stream stream);
void max_pool2d_backward(const float* dy, const int32_t* indices, float* dx,
                         const Pool2dShape& s, Stream stream);
void avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s, bool count_include_pad,
                        Stream stream);
void avg_pool2d_backward(const float* dy, float* dx, const Pool2dShape& s,
                         bool count_include_pad, Stream stream);
void adaptive_avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s, Stream stream);
void adaptive_avg_pool2d_backward(const float* dy, float* dx, const Pool2dShape& s,
                                  Stream stream);
}  // namespace cuda
}  // namespace danlu::kernels
