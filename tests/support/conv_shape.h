// Conv2dShape for tests: x (n, c, h, w), weight (o, kh, kw) and one stride,
// padding and dilation for both axes, with the output size conv2d computes.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/conv.h"

namespace danlu::testing {

inline kernels::Conv2dShape conv(std::array<int64_t, 4> x, std::array<int64_t, 3> w,
                                 int64_t stride = 1, int64_t pad = 0, int64_t dil = 1,
                                 int64_t groups = 1) {
  kernels::Conv2dShape s;
  s.n = x[0], s.c = x[1], s.h = x[2], s.w = x[3];
  s.o = w[0], s.kh = w[1], s.kw = w[2];
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = pad;
  s.dil_h = s.dil_w = dil;
  s.groups = groups;
  s.oh = (s.h + 2 * pad - dil * (s.kh - 1) - 1) / stride + 1;
  s.ow = (s.w + 2 * pad - dil * (s.kw - 1) - 1) / stride + 1;
  return s;
}

}  // namespace danlu::testing
