// Rung 5: the implicit GEMM on TF32 tensor cores. Adds over rung 3: the
// products run on mma.sync m16n8k8 (each of a warp's 32 lanes feeds 4 A and
// 2 B values, rounded to TF32, and keeps 4 FP32 sums), operands are staged
// in shared memory by cp.async (4-byte copies with zero fill for gathers
// and padding, 16-byte copies where 4 depths are contiguous and aligned:
// the filter rows of the forward, the dy planes of backward-weight) through
// a 3-stage pipeline, and the depth is consumed 16 at a time. Runs only
// where TF32 is allowed (on by default, as PyTorch's convolutions); runs
// every stride, padding, dilation and group count, but leaves tensors of
// 2^31 or more elements to rung 3 (its copies use 32-bit offsets).
//
// The same three GEMMs as rung 3, per group g (Cg = C/G, Og = O/G):
//   forward          y  (N*OH*OW, Og)    = im2col(x) . weight^T    depth (c, i, j)
//   backward-data    dx (N*H*W, Cg)      = gather(dy) . weight     depth (o, i, j)
//   backward-weight  dw (Cg*KH*KW, Og)   = im2col(x)^T . dy        depth (n, oy, ox)
// run by one kernel (tf32_gemm.cuh): a block of 4 warps computes a 64x64
// tile of the output, each warp a 32x32 quarter as 2 x 4 mma tiles of 16x8;
// in each mma tile, lane 4q + t (q = lane / 4, t = lane % 4) holds output
// rows q and q + 8 at columns 2t and 2t + 1 (32 FP32 sums per thread), and
// per step of 8 depths reads A rows q, q + 8 and B column q at depths t and
// t + 4 from shared memory. Every thread of the block also issues 8
// cp.async copies per operand per stage (2 where they are 16 bytes).
// Backward-weight splits its N*OH*OW depth across blocks and adds the
// slices in a fixed order (split_sum.cu), so it repeats its bits.
//
// Error: each operand is rounded to nearest TF32 (relative error <= 2^-11),
// so a product is off by at most (2^-10 + 2^-22) of its magnitude before
// the FP32 accumulation adds its own (docs/kernels/conv.md derives the
// bound the tests hold it to).
//
// Roofline (H100 SXM: 495 TFLOP/s dense TF32, 132 SMs at 1.83 GHz, so
// 1024 TF32 multiply-adds per SM per clock, 4 clocks of a quarter SM's
// tensor core per mma.sync m16n8k8; 3.35 TB/s DRAM, ridge about 150
// FLOP/byte): a 64x64x16 stage copies 2 x 64 x 16 floats (8 KB) for
// 2 x 64 x 64 x 16 = 131072 FLOP, 16 FLOP per byte from L2, which at
// roughly 10 TB/s of L2 bandwidth caps it near 160 TFLOP/s. The tighter
// limit is issue: per stage each warp issues 16 mma (64 tensor-core clocks
// of its quarter SM) among 370 to 560 instructions (docs/gpu-resources.md;
// 1150 for strided backward-data, which divides by the stride per gathered
// element), most of them the im2col offset arithmetic of its 16 copies.
// One instruction issues per clock per quarter SM, so the tensor cores are
// busy at most 64/370 to 64/560 of the time. Predicted: 0.1 to 0.15 of TF32
// peak (50 to 75 TFLOP/s) on large layers, 2 to 3 times rung 3; half that
// for strided backward-data and where 16 or 32 channels fill a quarter or
// half of a 64-wide tile. No GPU measurement exists yet.
#include <algorithm>
#include <cstdint>

#include "kernels/conv.h"
#include "kernels/cuda/conv/geometry.cuh"
#include "kernels/cuda/conv/tf32_gemm.cuh"
#include "kernels/cuda/conv/split_sum.h"
#include "kernels/cuda/conv/variants.h"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

using tf32::kStage;

bool aligned16(const float* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// ---- forward ------------------------------------------------------------------

// A[(n, oy, ox), (c, i, j)] = x[n, g*Cg + c, oy*sh - ph + i*dh, ox*sw - pw + j*dw],
// 0 in the padding.
struct InputPatches {
  static constexpr bool kAlongRows = true;  // adjacent rows are adjacent ox
  static constexpr int kVector = 1;
  const float* data;  // x
  Geometry geo;

  struct Row {
    int planes;  // the offset of x[n, g*Cg]
    int iy0, ix0;
  };
  __device__ Row row(int64_t m, int g) const {
    const int plane = geo.oh * geo.ow, n = int(m / plane), p = int(m % plane);
    return {(n * int(geo.c) + g * int(geo.cg)) * geo.h * geo.w,
            p / geo.ow * geo.stride_h - geo.pad_h, p % geo.ow * geo.stride_w - geo.pad_w};
  }
  __device__ Digits depth(int64_t k, int step) const { return Digits::of(k, geo.kh, geo.kw, step); }
  __device__ int offset(const Row& r, const Digits& d) const {
    const int iy = r.iy0 + d.mid * geo.dil_h, ix = r.ix0 + d.lo * geo.dil_w;
    if (unsigned(iy) >= unsigned(geo.h) || unsigned(ix) >= unsigned(geo.w)) return -1;
    return r.planes + (int(d.hi) * geo.h + iy) * geo.w + ix;
  }
};

// B[(c, i, j), o] = weight[g*Og + o, c, i, j]: row g*Og + o of the
// (O, Cg*KH*KW) weight matrix; kVector 4 where that row length is a
// multiple of 4 (and the weight 16-byte aligned).
template <int V>
struct FilterRows {
  static constexpr bool kAlongRows = false;  // adjacent depths are adjacent
  static constexpr int kVector = V;
  const float* data;  // weight
  int length, og;      // Cg*KH*KW, Og

  struct Row {
    int row;  // the offset of weight[g*Og + o]
  };
  __device__ Row row(int64_t o, int g) const { return {(g * og + int(o)) * length}; }
  __device__ Digits depth(int64_t k, int step) const { return Digits::of(k, 1, 1, step); }
  __device__ int offset(const Row& r, const Digits& d) const {
    return r.row + int(d.hi);
  }
};

// y[n, g*Og + o, oy, ox] = C[(n, oy, ox), o] + bias[g*Og + o].
struct ForwardOut {
  float* y;
  const float* bias;
  int64_t stride, o_total, og;  // stride: OH*OW
  __device__ float* row(int64_t m, int g, int) const {
    const int64_t n = m / stride;
    return y + (n * o_total + g * og) * stride + (m - n * stride);
  }
  __device__ float add(int g, int64_t o) const { return bias ? bias[g * og + o] : 0.f; }
};

// ---- backward-data --------------------------------------------------------------

// A[(n, iy, ix), (o, i, j)] = dy[n, g*Og + o, oy, ox] for the output (oy, ox)
// whose tap (i, j) reads x[iy, ix], i.e. oy*sh = iy + ph - i*dh; 0 where
// that is not a whole output position inside the output plane. kStrided
// false: both strides are 1, so every tap lands on a whole output position
// (inside the plane or not) and no division is needed.
template <bool kStrided>
struct OutputGradPatches {
  static constexpr bool kAlongRows = true;  // adjacent rows are adjacent ix
  static constexpr int kVector = 1;
  const float* data;  // dy
  Geometry geo;

  struct Row {
    int planes;    // the offset of dy[n, g*Og]
    int ty0, tx0;  // iy + ph, ix + pw
  };
  __device__ Row row(int64_t m, int g) const {
    const int plane = geo.h * geo.w, n = int(m / plane), p = int(m % plane);
    return {(n * int(geo.o) + g * int(geo.og)) * geo.oh * geo.ow, p / geo.w + geo.pad_h,
            p % geo.w + geo.pad_w};
  }
  __device__ Digits depth(int64_t k, int step) const { return Digits::of(k, geo.kh, geo.kw, step); }
  __device__ int offset(const Row& r, const Digits& d) const {
    int oy = r.ty0 - d.mid * geo.dil_h, ox = r.tx0 - d.lo * geo.dil_w;
    if (kStrided) {
      if (oy < 0 || ox < 0 || oy % geo.stride_h != 0 || ox % geo.stride_w != 0) return -1;
      oy /= geo.stride_h;
      ox /= geo.stride_w;
    }
    if (unsigned(oy) >= unsigned(geo.oh) || unsigned(ox) >= unsigned(geo.ow)) return -1;
    return r.planes + (int(d.hi) * geo.oh + oy) * geo.ow + ox;
  }
};

// B[(o, i, j), c] = weight[g*Og + o, c, i, j].
struct FilterColumns {
  static constexpr bool kAlongRows = false;  // adjacent taps are adjacent
  static constexpr int kVector = 1;
  const float* data;  // weight
  int cg, og, taps;

  struct Row {
    int column;  // the offset of weight[g*Og, c]
  };
  __device__ Row row(int64_t c, int g) const { return {(g * og * cg + int(c)) * taps}; }
  __device__ Digits depth(int64_t k, int step) const { return Digits::of(k, 1, taps, step); }
  __device__ int offset(const Row& r, const Digits& d) const {
    return r.column + int(d.hi) * cg * taps + d.lo;
  }
};

// dx[n, g*Cg + c, iy, ix] = C[(n, iy, ix), c].
struct DataGradOut {
  float* dx;
  int64_t stride, c_total, cg;  // stride: H*W
  __device__ float* row(int64_t m, int g, int) const {
    const int64_t n = m / stride;
    return dx + (n * c_total + g * cg) * stride + (m - n * stride);
  }
  __device__ float add(int, int64_t) const { return 0.f; }
};

// ---- backward-weight --------------------------------------------------------------

// A[(c, i, j), (n, oy, ox)] = x[n, g*Cg + c, oy*sh - ph + i*dh, ox*sw - pw + j*dw].
struct InputColumns {
  static constexpr bool kAlongRows = false;  // adjacent depths are adjacent ox
  static constexpr int kVector = 1;
  const float* data;  // x
  Geometry geo;

  struct Row {
    int plane;          // the offset of x[0, g*Cg + c]
    int y_off, x_off;   // i*dh - ph, j*dw - pw
  };
  __device__ Row row(int64_t r, int g) const {
    const int taps = geo.kh * geo.kw, t = int(r % taps);
    return {(g * int(geo.cg) + int(r / taps)) * geo.h * geo.w, t / geo.kw * geo.dil_h - geo.pad_h,
            t % geo.kw * geo.dil_w - geo.pad_w};
  }
  __device__ Digits depth(int64_t k, int step) const { return Digits::of(k, geo.oh, geo.ow, step); }
  __device__ int offset(const Row& r, const Digits& d) const {
    const int iy = d.mid * geo.stride_h + r.y_off, ix = d.lo * geo.stride_w + r.x_off;
    if (unsigned(iy) >= unsigned(geo.h) || unsigned(ix) >= unsigned(geo.w)) return -1;
    return r.plane + (int(d.hi) * int(geo.c) * geo.h + iy) * geo.w + ix;
  }
};

// B[(n, oy, ox), o] = dy[n, g*Og + o, oy, ox]; kVector 4 where the output
// plane's size is a multiple of 4 (and dy 16-byte aligned), so 4 aligned
// depths never straddle two planes.
template <int V>
struct OutputGradRows {
  static constexpr bool kAlongRows = false;  // adjacent depths are adjacent
  static constexpr int kVector = V;
  const float* data;  // dy
  int o_total, og, plane;

  struct Row {
    int channel;  // the offset of dy[0, g*Og + o]
  };
  __device__ Row row(int64_t o, int g) const { return {(g * og + int(o)) * plane}; }
  __device__ Digits depth(int64_t k, int step) const { return Digits::of(k, 1, plane, step); }
  __device__ int offset(const Row& r, const Digits& d) const {
    return r.channel + int(d.hi) * o_total * plane + d.lo;
  }
};

// dweight[g*Og + o, r] for r = (c, i, j), or that element of split's slice
// of the partial sums (the slices are dweight-shaped).
struct WeightGradOut {
  float* dst;
  int64_t stride, per_split, og;  // stride: Cg*KH*KW
  __device__ float* row(int64_t r, int g, int split) const {
    return dst + split * per_split + g * og * stride + r;
  }
  __device__ float add(int, int64_t) const { return 0.f; }
};

tf32::Size weight_grad_size(const Conv2dShape& s) {
  tf32::Size size;
  size.rows = s.c / s.groups * s.kh * s.kw;
  size.cols = s.o / s.groups;
  size.depth = s.n * s.oh * s.ow;
  size.groups = int(s.groups);
  const int64_t tiles = (size.rows + tf32::kRows - 1) / tf32::kRows *
                        ((size.cols + tf32::kCols - 1) / tf32::kCols) * s.groups;
  size.slice = weight_grad_slice(size.depth, tiles, s.groups, kStage);
  size.splits = int(std::max<int64_t>((size.depth + size.slice - 1) / size.slice, 1));
  return size;
}

// Every stride, padding, dilation and group count runs. Refused: a tensor of
// 2^31 or more elements (the copies address their sources with 32-bit
// offsets, which keeps the main loop's arithmetic 32-bit), and a grid past
// CUDA's limits. (The kernel needs sm_80 or later, which every architecture
// danlu builds for is.)
std::string refusal(const Conv2dShape& s, ConvPass p) {
  constexpr int64_t kMaxElements = int64_t(1) << 31;
  const int64_t largest = std::max({s.n * s.c * s.h * s.w, s.n * s.o * s.oh * s.ow,
                                    s.o * (s.c / s.groups) * s.kh * s.kw});
  if (largest >= kMaxElements)
    return detail::concat("a tensor of ", largest,
                          " elements exceeds its 32-bit offsets (2^31 elements)");
  if (p == ConvPass::backward_weight) return tf32::grid_refusal(weight_grad_size(s));
  tf32::Size size;
  size.rows = p == ConvPass::forward ? s.n * s.oh * s.ow : s.n * s.h * s.w;
  size.cols = p == ConvPass::forward ? s.o / s.groups : s.c / s.groups;
  size.groups = int(s.groups);
  return tf32::grid_refusal(size);
}

void forward(const float* x, const float* weight, const float* bias, float* y,
             const Conv2dShape& s, Stream stream) {
  const Geometry geo = geometry(s);
  tf32::Size size;
  size.rows = s.n * s.oh * s.ow;
  size.cols = geo.og;
  size.depth = geo.cg * s.kh * s.kw;
  size.slice = size.depth;
  size.groups = geo.groups;
  const ForwardOut out{y, bias, s.oh * s.ow, s.o, geo.og};
  if (size.depth % 4 == 0 && aligned16(weight))
    tf32::run("conv2d_forward_tf32", InputPatches{x, geo},
              FilterRows<4>{weight, int(size.depth), int(geo.og)}, out, size, stream);
  else
    tf32::run("conv2d_forward_tf32", InputPatches{x, geo},
              FilterRows<1>{weight, int(size.depth), int(geo.og)}, out, size, stream);
}

void backward_data(const float* weight, const float* dy, float* dx, const Conv2dShape& s,
                   Stream stream) {
  const Geometry geo = geometry(s);
  const int64_t taps = s.kh * s.kw;
  tf32::Size size;
  size.rows = s.n * s.h * s.w;
  size.cols = geo.cg;
  size.depth = geo.og * taps;
  size.slice = size.depth;
  size.groups = geo.groups;
  const FilterColumns b{weight, int(geo.cg), int(geo.og), int(taps)};
  const DataGradOut out{dx, s.h * s.w, s.c, geo.cg};
  if (s.stride_h == 1 && s.stride_w == 1)
    tf32::run("conv2d_backward_data_tf32", OutputGradPatches<false>{dy, geo}, b, out, size, stream);
  else
    tf32::run("conv2d_backward_data_tf32", OutputGradPatches<true>{dy, geo}, b, out, size, stream);
}

// workspace: the per-split partial sums when the depth is split.
int64_t weight_workspace(const Conv2dShape& s) {
  const tf32::Size size = weight_grad_size(s);
  return size.splits > 1 ? size.splits * s.o * size.rows : 0;
}

void backward_weight(const float* x, const float* dy, float* dweight, float* workspace,
                     const Conv2dShape& s, Stream stream) {
  const Geometry geo = geometry(s);
  const tf32::Size size = weight_grad_size(s);
  const int64_t count = s.o * size.rows;
  const int plane = int(s.oh * s.ow);
  float* dst = size.splits > 1 ? workspace : dweight;
  const WeightGradOut out{dst, size.rows, count, geo.og};
  if (plane % 4 == 0 && aligned16(dy))
    tf32::run("conv2d_backward_weight_tf32", InputColumns{x, geo},
              OutputGradRows<4>{dy, int(s.o), int(geo.og), plane}, out, size, stream);
  else
    tf32::run("conv2d_backward_weight_tf32", InputColumns{x, geo},
              OutputGradRows<1>{dy, int(s.o), int(geo.og), plane}, out, size, stream);
  if (size.splits > 1) sum_weight_splits(dst, dweight, count, size.splits, stream);
}

}  // namespace

ConvVariant tf32_tensor_core_variant() {
  ConvVariant v;
  v.number = 5;
  v.name = "TF32 tensor cores";
  v.needs_tf32 = true;
  v.unsupported = refusal;
  v.forward = forward;
  v.backward_data = backward_data;
  v.backward_weight = backward_weight;
  v.weight_workspace = weight_workspace;
  return v;
}

}  // namespace danlu::kernels::cuda
