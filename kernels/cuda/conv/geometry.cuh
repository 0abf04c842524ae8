// What the conv2d kernels share: the convolution's sizes in the form the
// device uses, derived from a Conv2dShape in this one place. Spatial sizes
// are ints (coordinates are compared and divided per element, and 32-bit
// integer division is several times cheaper than 64-bit on a GPU; element
// offsets stay int64); engine/ops/conv.cpp has checked that they fit
// (conv2d_unsupported). Also the mixed-radix counter that walks a GEMM depth
// without dividing.
#pragma once

#include <cstdint>

#include "kernels/conv.h"
#include "kernels/cuda/conv/implicit_gemm.cuh"

namespace danlu::kernels::cuda {

struct Geometry {
  int64_t n, c, o;  // batch, input and output channels
  int64_t cg, og;   // input and output channels per group
  int groups;
  int h, w, oh, ow, kh, kw;
  int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
};

inline Geometry geometry(const Conv2dShape& s) {
  return {s.n,        s.c,        s.o,          s.c / s.groups, s.o / s.groups, int(s.groups),
          int(s.h),   int(s.w),   int(s.oh),    int(s.ow),      int(s.kh),      int(s.kw),
          int(s.stride_h), int(s.stride_w), int(s.pad_h), int(s.pad_w), int(s.dil_h),
          int(s.dil_w)};
}

// A depth index k written as digits (hi, mid, lo) of sizes (unbounded,
// mid_size, lo_size), k = (hi * mid_size + mid) * lo_size + lo: e.g. (c, i, j)
// over a filter or (n, oy, ox) over a batch of output planes. step() adds
// `step` (igemm::kDepth unless given) with at most one carry per digit,
// since the step's own digits are below the digit sizes.
struct Digits {
  int64_t hi = 0;
  int mid = 0, lo = 0;
  int64_t step_hi = 0;
  int step_mid = 0, step_lo = 0;
  int mid_size = 1, lo_size = 1;

  __device__ static Digits of(int64_t k, int mid_size, int lo_size, int step = igemm::kDepth) {
    Digits d;
    const int64_t block = int64_t(mid_size) * lo_size;
    d.mid_size = mid_size;
    d.lo_size = lo_size;
    d.hi = k / block;
    const int rest = int(k % block);
    d.mid = rest / lo_size;
    d.lo = rest % lo_size;
    d.step_hi = step / block;
    const int step_rest = int(step % block);
    d.step_mid = step_rest / lo_size;
    d.step_lo = step_rest % lo_size;
    return d;
  }
  __device__ void step() {
    lo += step_lo;
    mid += step_mid;
    hi += step_hi;
    if (lo >= lo_size) {
      lo -= lo_size;
      ++mid;
    }
    if (mid >= mid_size) {
      mid -= mid_size;
      ++hi;
    }
  }
};

}  // namespace danlu::kernels::cuda
