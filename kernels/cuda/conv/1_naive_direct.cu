// Rung 1: the naive direct convolution, the definition written as three
// kernels. Each thread computes one output element of its pass from global
// memory: an element of y, of dx or of dweight, summing its terms in a fixed
// order (deterministic; no float atomics), with 64-bit index arithmetic
// throughout. Blocks of 256 threads take consecutive elements (so a warp
// writes 32 adjacent floats) and stride over the output by the grid's size.
// Runs every stride, padding, dilation and group count, every pass: the
// dispatcher's fallback and the ladder's reference on the GPU.
//
// Roofline: every FMA reads two floats through the caches (an input or
// gradient element and a filter tap), 0.25 FLOP/byte from L1; the divisions
// that locate each term cost more than the FMA itself. Expect about 0.02 to
// 0.05 of FP32 peak, and backward-weight worse where N*OH*OW is long and
// O*C*KH*KW small (few threads, each with a long serial sum).
#include <algorithm>

#include "kernels/conv.h"
#include "kernels/cuda/conv/geometry.cuh"
#include "kernels/cuda/conv/variants.h"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t(1) << 20;  // the rest by grid stride

dim3 grid_for(int64_t count) {
  return dim3(static_cast<unsigned>(std::min<int64_t>(blocks_for(count, kThreads), kMaxBlocks)));
}

// Thread e (and e + the grid's size, ...) computes y[n, o, oy, ox] for the
// flattened e: the sum over its group's Cg input channels and the KH x KW
// taps inside the input, plus bias[o].
__global__ void naive_forward(const float* x, const float* weight, const float* bias, float* y,
                              Geometry g) {
  const int64_t count = g.n * g.o * g.oh * g.ow;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < count;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ox = e % g.ow, oy = e / g.ow % g.oh, o = e / (int64_t(g.ow) * g.oh) % g.o;
    const int64_t n = e / (int64_t(g.ow) * g.oh * g.o), group = o / g.og;
    float acc = 0.f;
    for (int64_t c = 0; c < g.cg; ++c) {
      const float* plane = x + (n * g.c + group * g.cg + c) * g.h * g.w;
      const float* filter = weight + (o * g.cg + c) * g.kh * g.kw;
      for (int i = 0; i < g.kh; ++i) {
        const int64_t iy = oy * g.stride_h - g.pad_h + int64_t(i) * g.dil_h;
        if (iy < 0 || iy >= g.h) continue;
        for (int j = 0; j < g.kw; ++j) {
          const int64_t ix = ox * g.stride_w - g.pad_w + int64_t(j) * g.dil_w;
          if (ix < 0 || ix >= g.w) continue;
          acc = fmaf(plane[iy * g.w + ix], filter[i * g.kw + j], acc);
        }
      }
    }
    y[e] = acc + (bias ? bias[o] : 0.f);
  }
}

// Thread e computes dx[n, c, iy, ix]: the sum over its group's Og output
// channels and the taps (i, j) whose window position oy*sh = iy + ph - i*dh
// (and likewise ox) is a whole output position, of dy there times the tap.
__global__ void naive_backward_data(const float* weight, const float* dy, float* dx, Geometry g) {
  const int64_t count = g.n * g.c * g.h * g.w;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < count;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ix = e % g.w, iy = e / g.w % g.h, c = e / (int64_t(g.w) * g.h) % g.c;
    const int64_t n = e / (int64_t(g.w) * g.h * g.c), group = c / g.cg;
    float acc = 0.f;
    for (int64_t o = 0; o < g.og; ++o) {
      const int64_t oc = group * g.og + o;
      const float* plane = dy + (n * g.o + oc) * g.oh * g.ow;
      const float* filter = weight + (oc * g.cg + c % g.cg) * g.kh * g.kw;
      for (int i = 0; i < g.kh; ++i) {
        const int64_t ty = iy + g.pad_h - int64_t(i) * g.dil_h;
        if (ty < 0 || ty % g.stride_h != 0 || ty / g.stride_h >= g.oh) continue;
        for (int j = 0; j < g.kw; ++j) {
          const int64_t tx = ix + g.pad_w - int64_t(j) * g.dil_w;
          if (tx < 0 || tx % g.stride_w != 0 || tx / g.stride_w >= g.ow) continue;
          acc = fmaf(plane[ty / g.stride_h * g.ow + tx / g.stride_w], filter[i * g.kw + j], acc);
        }
      }
    }
    dx[e] = acc;
  }
}

// Thread e computes dweight[o, c, i, j]: the sum over the batch and the
// output plane of dy[n, o, oy, ox] times the input element that tap (i, j)
// of that window reads, in (n, oy, ox) order.
__global__ void naive_backward_weight(const float* x, const float* dy, float* dweight,
                                      Geometry g) {
  const int64_t count = g.o * g.cg * g.kh * g.kw;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < count;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int j = int(e % g.kw), i = int(e / g.kw % g.kh);
    const int64_t c = e / (int64_t(g.kw) * g.kh) % g.cg, o = e / (int64_t(g.kw) * g.kh * g.cg);
    const int64_t group = o / g.og;
    float acc = 0.f;
    for (int64_t n = 0; n < g.n; ++n) {
      const float* plane = x + (n * g.c + group * g.cg + c) * g.h * g.w;
      const float* grad = dy + (n * g.o + o) * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const int64_t iy = oy * g.stride_h - g.pad_h + int64_t(i) * g.dil_h;
        if (iy < 0 || iy >= g.h) continue;
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t ix = ox * g.stride_w - g.pad_w + int64_t(j) * g.dil_w;
          if (ix < 0 || ix >= g.w) continue;
          acc = fmaf(plane[iy * g.w + ix], grad[oy * g.ow + ox], acc);
        }
      }
    }
    dweight[e] = acc;
  }
}

std::string refusal(const Conv2dShape&, ConvPass) { return ""; }  // every shape, every pass

void forward(const float* x, const float* weight, const float* bias, float* y,
             const Conv2dShape& s, Stream stream) {
  launch("conv2d_naive_forward", naive_forward, grid_for(s.n * s.o * s.oh * s.ow), dim3(kThreads),
         0, stream, x, weight, bias, y, geometry(s));
}

void backward_data(const float* weight, const float* dy, float* dx, const Conv2dShape& s,
                   Stream stream) {
  launch("conv2d_naive_backward_data", naive_backward_data, grid_for(s.n * s.c * s.h * s.w),
         dim3(kThreads), 0, stream, weight, dy, dx, geometry(s));
}

void backward_weight(const float* x, const float* dy, float* dweight, float*,
                     const Conv2dShape& s, Stream stream) {
  launch("conv2d_naive_backward_weight", naive_backward_weight,
         grid_for(s.o * (s.c / s.groups) * s.kh * s.kw), dim3(kThreads), 0, stream, x, dy,
         dweight, geometry(s));
}

}  // namespace

ConvVariant naive_direct_variant() {
  ConvVariant v;
  v.number = 1;
  v.name = "naive direct";
  v.unsupported = refusal;
  v.forward = forward;
  v.backward_data = backward_data;
  v.backward_weight = backward_weight;
  return v;
}

}  // namespace danlu::kernels::cuda
