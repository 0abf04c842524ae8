// Convolution kernels: the im2col lowering, its adjoint col2im, and the
// GEMM-based conv2d forward/backward built on them. Raw pointers, no autograd.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels {

// The sizes of one conv2d: x (N, C, H, W), weight (O, C/groups, KH, KW),
// y (N, O, OH, OW).
struct Conv2dShape {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t o = 0, kh = 0, kw = 0;
  int64_t oh = 0, ow = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t groups = 1;

  // The lowered input of the batch is one matrix (C*KH*KW, N*OH*OW).
  int64_t col_rows() const { return c * kh * kw; }
  int64_t col_cols() const { return n * oh * ow; }
};

namespace cpu {

// cols (C*KH*KW, N*OH*OW): row (c, i, j), column (n, oy, ox) holds
// x[n, c, oy*stride_h - pad_h + i*dil_h, ox*stride_w - pad_w + j*dil_w],
// or 0 where that falls in the padding. x (N, C, H, W).
template <class T> void im2col(const T* x, T* cols, const Conv2dShape& s);
// The adjoint of im2col: dx (N, C, H, W) = the sum of every cols entry that
// im2col copied from each input element. Overwrites dx.
template <class T> void col2im(const T* cols, T* dx, const Conv2dShape& s);

// How conv2d_forward and conv2d_backward compute, from DANLU_CPU_CONV, read
// at each call so that benchmarks and tests can compare the paths on one
// shape: `auto` (the default) runs the direct convolution
// (kernels/cpu/conv_direct.h) where it measured faster and lowers to GEMM
// elsewhere; `direct` runs it wherever it applies (3x3, stride 1); `lowered`
// never.
enum class CpuConvPath { automatic, direct, lowered };
CpuConvPath cpu_conv_path();
// Whether this shape's forward and dx, and its dweight, run direct under
// cpu_conv_path().
bool conv2d_runs_direct(const Conv2dShape& s);
bool conv2d_runs_direct_weight(const Conv2dShape& s);

// Elements of scratch memory conv2d_forward and conv2d_backward need (it
// depends on omp_get_max_threads(), so ask just before the call).
int64_t conv2d_workspace(const Conv2dShape& s);

// y (N, O, OH, OW) = conv(x (N, C, H, W), weight (O, C/groups, KH, KW))
// + bias (O) (bias may be null). workspace: conv2d_workspace(s).
template <class T>
void conv2d_forward(const T* x, const T* weight, const T* bias, T* y, T* workspace,
                    const Conv2dShape& s);
// Given dy (N, O, OH, OW), writes dx (N, C, H, W), dweight (O, C/groups, KH,
// KW) and dbias (O); a null output pointer skips that gradient (x is only
// read for dweight, weight only for dx). workspace: conv2d_workspace(s).
template <class T>
void conv2d_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias,
                     T* workspace, const Conv2dShape& s);

}  // namespace cpu

namespace cuda {

// The direct kernel stages one group's filters in shared memory and walks
// their taps; it beats the implicit GEMM where the GEMM's 64x64x8 tiles would
// be mostly empty: few input channels per group (a first layer over 1 or 3
// channels, depthwise). Up to kDirectMaxReduction filter taps per output.
constexpr int64_t kDirectMaxChannels = 4;
constexpr int64_t kDirectMaxReduction = 256;
inline bool conv2d_prefers_direct(const Conv2dShape& s) {
  const int64_t cg = s.c / s.groups;
  return cg <= kDirectMaxChannels && cg * s.kh * s.kw <= kDirectMaxReduction;
}

// Floats of device scratch conv2d_backward needs for dbias and dweight (the
// bias reduction's per-strip sums and the backward-weight GEMM's per-split
// partial sums; 0 when neither is split).
int64_t conv2d_workspace(const Conv2dShape& s);

// The CPU functions' contracts, in f32 on the device, enqueued on `stream`.
// Implicit GEMM: the im2col gather happens while each tile is loaded, so the
// forward needs no workspace.
void conv2d_forward(const float* x, const float* weight, const float* bias, float* y,
                    const Conv2dShape& s, Stream stream);
// Deterministic: dbias and dweight split the N*OH*OW reduction across
// blocks and add the partial sums in a fixed order in a second pass; no
// float atomics.
void conv2d_backward(const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, float* dbias, float* workspace, const Conv2dShape& s,
                     Stream stream);
// The direct kernel, for shapes where conv2d_prefers_direct(s); needs no
// workspace.
void conv2d_forward_direct(const float* x, const float* weight, const float* bias, float* y,
                           const Conv2dShape& s, Stream stream);

}  // namespace cuda
}  // namespace danlu::kernels
