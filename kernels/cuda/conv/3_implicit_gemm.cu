// Rung 3: the implicit GEMM, the ladder's baseline. Adds over rung 2: the
// convolution becomes a matrix product, so every pass (not only the
// forward) is tiled, and each thread reuses each loaded value 4 times from
// registers. Per group g (G groups, Cg = C/G input and Og = O/G output
// channels per group) each pass is one GEMM (implicit_gemm.cuh):
//   forward          y  (N*OH*OW, Og)    = im2col(x) . weight^T    depth (c, i, j)
//   backward-data    dx (N*H*W, Cg)      = gather(dy) . weight     depth (o, i, j)
//   backward-weight  dw (Cg*KH*KW, Og)   = im2col(x)^T . dy        depth (n, oy, ox)
// A block of 256 threads computes a 64x64 tile of the GEMM's output, each
// thread a 4x4 micro-tile, consuming the depth 8 at a time from two
// double-buffered shared tiles; the im2col matrix is never written, each
// operand below computes one element of its matrix from the tensors while a
// tile is loaded. Backward-data gathers: each dx element reads the dy
// elements whose windows cover it, so nothing is scattered. (With stride s,
// all but 1/s^2 of its taps are misses that load zero; splitting dx by
// stride phase would skip them.) Backward-weight reduces over the whole
// batch, so it splits that depth across blocks and adds the partial sums in
// a fixed order. Runs every stride, padding, dilation and group count whose
// grid fits CUDA's limits.
//
// Roofline: a 64x64x8 step loads 2 x 64 x 8 floats into shared memory and
// does 64 x 64 x 8 FMAs, 16 FMAs per float from global (L2) memory, far
// right of the H100's ridge (about 20 FLOP/byte from DRAM); the limit is
// the SM itself: one 32-bit shared load per two FMAs, 4x4 micro-tiles and no
// vector loads leave it at about 0.3 to 0.5 of FP32 peak on large layers,
// and much less where 16 or 32 output channels fill a quarter or half of a
// 64-wide tile.
#include <algorithm>

#include "kernels/conv.h"
#include "kernels/cuda/conv/geometry.cuh"
#include "kernels/cuda/conv/implicit_gemm.cuh"
#include "kernels/cuda/conv/split_sum.h"
#include "kernels/cuda/conv/variants.h"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

using igemm::kDepth;

// ---- forward ------------------------------------------------------------------

// A[(n, oy, ox), (c, i, j)] = x[n, g*Cg + c, oy*sh - ph + i*dh, ox*sw - pw + j*dw],
// 0 in the padding.
struct InputPatches {
  static constexpr bool kAlongRows = true;  // adjacent rows are adjacent ox
  const float* x;
  Geometry geo;

  struct Cursor {
    int64_t k = 0;
    Digits d;                       // (c, i, j)
    const float* planes = nullptr;  // x[n, g*Cg]
    int iy0 = 0, ix0 = 0;
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t m, int g, int64_t k) const {
    const int64_t plane = int64_t(geo.oh) * geo.ow, n = m / plane;
    const int p = int(m % plane);
    Cursor c;
    c.k = k;
    c.d = Digits::of(k, geo.kh, geo.kw);
    c.planes = x + (n * geo.c + g * geo.cg) * geo.h * geo.w;
    c.iy0 = p / geo.ow * geo.stride_h - geo.pad_h;
    c.ix0 = p % geo.ow * geo.stride_w - geo.pad_w;
    return c;
  }
  __device__ float load(const Cursor& c) const {
    const int iy = c.iy0 + c.d.mid * geo.dil_h, ix = c.ix0 + c.d.lo * geo.dil_w;
    if (iy < 0 || iy >= geo.h || ix < 0 || ix >= geo.w) return 0.f;
    return c.planes[(c.d.hi * geo.h + iy) * geo.w + ix];
  }
};

// B[(c, i, j), o] = weight[g*Og + o, c, i, j]: row g*Og + o of the
// (O, Cg*KH*KW) weight matrix.
struct FilterRows {
  static constexpr bool kAlongRows = false;  // adjacent depths are adjacent
  const float* weight;
  int64_t depth, og;

  struct Cursor {
    int64_t k = 0;
    const float* row = nullptr;
    __device__ void advance() { k += kDepth; }
  };
  __device__ Cursor start(int64_t o, int g, int64_t k) const {
    return {k, weight + (g * og + o) * depth};
  }
  __device__ float load(const Cursor& c) const { return c.row[c.k]; }
};

// y[n, g*Og + o, oy, ox] = C[(n, oy, ox), o] + bias[g*Og + o].
struct ForwardOut {
  float* y;
  const float* bias;
  int64_t plane, o_total, og;
  __device__ void store(int64_t m, int64_t o, int g, int, float v) const {
    const int64_t n = m / plane, oc = g * og + o;
    y[(n * o_total + oc) * plane + m % plane] = v + (bias ? bias[oc] : 0.f);
  }
};

// ---- backward-data --------------------------------------------------------------

// A[(n, iy, ix), (o, i, j)] = dy[n, g*Og + o, oy, ox] for the output (oy, ox)
// whose tap (i, j) reads x[iy, ix], i.e. oy*sh = iy + ph - i*dh; 0 where
// that is not a whole output position inside the output plane.
struct OutputGradPatches {
  static constexpr bool kAlongRows = true;  // adjacent rows are adjacent ix
  const float* dy;
  Geometry geo;

  struct Cursor {
    int64_t k = 0;
    Digits d;                       // (o, i, j)
    const float* planes = nullptr;  // dy[n, g*Og]
    int ty0 = 0, tx0 = 0;           // iy + ph, ix + pw
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t m, int g, int64_t k) const {
    const int64_t plane = int64_t(geo.h) * geo.w, n = m / plane;
    const int p = int(m % plane);
    Cursor c;
    c.k = k;
    c.d = Digits::of(k, geo.kh, geo.kw);
    c.planes = dy + (n * geo.o + g * geo.og) * geo.oh * geo.ow;
    c.ty0 = p / geo.w + geo.pad_h;
    c.tx0 = p % geo.w + geo.pad_w;
    return c;
  }
  __device__ float load(const Cursor& c) const {
    const int ty = c.ty0 - c.d.mid * geo.dil_h, tx = c.tx0 - c.d.lo * geo.dil_w;
    if (ty < 0 || tx < 0 || ty % geo.stride_h != 0 || tx % geo.stride_w != 0) return 0.f;
    const int oy = ty / geo.stride_h, ox = tx / geo.stride_w;
    if (oy >= geo.oh || ox >= geo.ow) return 0.f;
    return c.planes[(c.d.hi * geo.oh + oy) * geo.ow + ox];
  }
};

// B[(o, i, j), c] = weight[g*Og + o, c, i, j].
struct FilterColumns {
  static constexpr bool kAlongRows = false;  // adjacent taps are adjacent
  const float* weight;
  int64_t cg, og;
  int taps;

  struct Cursor {
    int64_t k = 0;
    Digits d;  // (o, 0, tap)
    const float* column = nullptr;  // weight[g*Og, c]
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t c, int g, int64_t k) const {
    return {k, Digits::of(k, 1, taps), weight + (g * og * cg + c) * taps};
  }
  __device__ float load(const Cursor& c) const { return c.column[c.d.hi * cg * taps + c.d.lo]; }
};

// dx[n, g*Cg + c, iy, ix] = C[(n, iy, ix), c].
struct DataGradOut {
  float* dx;
  int64_t plane, c_total, cg;
  __device__ void store(int64_t m, int64_t c, int g, int, float v) const {
    const int64_t n = m / plane;
    dx[(n * c_total + g * cg + c) * plane + m % plane] = v;
  }
};

// ---- backward-weight --------------------------------------------------------------

// A[(c, i, j), (n, oy, ox)] = x[n, g*Cg + c, oy*sh - ph + i*dh, ox*sw - pw + j*dw].
struct InputColumns {
  static constexpr bool kAlongRows = false;  // adjacent depths are adjacent ox
  const float* x;
  Geometry geo;

  struct Cursor {
    int64_t k = 0;
    Digits d;                      // (n, oy, ox)
    const float* plane = nullptr;  // x[0, g*Cg + c]
    int y_off = 0, x_off = 0;      // i*dh - ph, j*dw - pw
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t r, int g, int64_t k) const {
    const int taps = geo.kh * geo.kw, t = int(r % taps);
    Cursor c;
    c.k = k;
    c.d = Digits::of(k, geo.oh, geo.ow);
    c.plane = x + (g * geo.cg + r / taps) * geo.h * geo.w;
    c.y_off = t / geo.kw * geo.dil_h - geo.pad_h;
    c.x_off = t % geo.kw * geo.dil_w - geo.pad_w;
    return c;
  }
  __device__ float load(const Cursor& c) const {
    const int iy = c.d.mid * geo.stride_h + c.y_off, ix = c.d.lo * geo.stride_w + c.x_off;
    if (iy < 0 || iy >= geo.h || ix < 0 || ix >= geo.w) return 0.f;
    return c.plane[(c.d.hi * geo.c * geo.h + iy) * geo.w + ix];
  }
};

// B[(n, oy, ox), o] = dy[n, g*Og + o, oy, ox].
struct OutputGradRows {
  static constexpr bool kAlongRows = false;  // adjacent depths are adjacent
  const float* dy;
  int64_t o_total, og;
  int plane;

  struct Cursor {
    int64_t k = 0;
    Digits d;                        // (n, 0, oy*OW + ox)
    const float* channel = nullptr;  // dy[0, g*Og + o]
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t o, int g, int64_t k) const {
    return {k, Digits::of(k, 1, plane), dy + (g * og + o) * plane};
  }
  __device__ float load(const Cursor& c) const {
    return c.channel[c.d.hi * o_total * plane + c.d.lo];
  }
};

// dweight[g*Og + o, r] for r = (c, i, j), or that element of split's slice
// of the partial sums (the slices are dweight-shaped).
struct WeightGradOut {
  float* dst;
  int64_t per_split, depth_w, og;
  __device__ void store(int64_t r, int64_t o, int g, int split, float v) const {
    dst[split * per_split + (g * og + o) * depth_w + r] = v;
  }
};

igemm::Size weight_grad_size(const Conv2dShape& s) {
  igemm::Size size;
  size.rows = s.c / s.groups * s.kh * s.kw;
  size.cols = s.o / s.groups;
  size.depth = s.n * s.oh * s.ow;
  size.groups = int(s.groups);
  const int64_t tiles = (size.rows + igemm::kRows - 1) / igemm::kRows *
                        ((size.cols + igemm::kCols - 1) / igemm::kCols) * s.groups;
  size.slice = weight_grad_slice(size.depth, tiles, s.groups, kDepth);
  size.splits = int(std::max<int64_t>((size.depth + size.slice - 1) / size.slice, 1));
  return size;
}

// The grid of each pass's GEMM fits CUDA's limits.
std::string refusal(const Conv2dShape& s, ConvPass p) {
  if (p == ConvPass::backward_weight) return igemm::grid_refusal(weight_grad_size(s));
  igemm::Size size;
  size.rows = p == ConvPass::forward ? s.n * s.oh * s.ow : s.n * s.h * s.w;
  size.cols = p == ConvPass::forward ? s.o / s.groups : s.c / s.groups;
  size.groups = int(s.groups);
  return igemm::grid_refusal(size);
}

void forward(const float* x, const float* weight, const float* bias, float* y,
             const Conv2dShape& s, Stream stream) {
  const Geometry geo = geometry(s);
  igemm::Size size;
  size.rows = s.n * s.oh * s.ow;
  size.cols = geo.og;
  size.depth = geo.cg * s.kh * s.kw;
  size.slice = size.depth;
  size.groups = geo.groups;
  igemm::run("conv2d_forward", InputPatches{x, geo}, FilterRows{weight, size.depth, geo.og},
             ForwardOut{y, bias, s.oh * s.ow, s.o, geo.og}, size, stream);
}

void backward_data(const float* weight, const float* dy, float* dx, const Conv2dShape& s,
                   Stream stream) {
  const Geometry geo = geometry(s);
  const int64_t taps = s.kh * s.kw;
  igemm::Size size;
  size.rows = s.n * s.h * s.w;
  size.cols = geo.cg;
  size.depth = geo.og * taps;
  size.slice = size.depth;
  size.groups = geo.groups;
  igemm::run("conv2d_backward_data", OutputGradPatches{dy, geo},
             FilterColumns{weight, geo.cg, geo.og, int(taps)},
             DataGradOut{dx, s.h * s.w, s.c, geo.cg}, size, stream);
}

// workspace: the per-split partial sums when the depth is split.
int64_t weight_workspace(const Conv2dShape& s) {
  const igemm::Size size = weight_grad_size(s);
  return size.splits > 1 ? size.splits * s.o * size.rows : 0;
}

void backward_weight(const float* x, const float* dy, float* dweight, float* workspace,
                     const Conv2dShape& s, Stream stream) {
  const Geometry geo = geometry(s);
  const igemm::Size size = weight_grad_size(s);
  const int64_t count = s.o * size.rows;
  float* dst = size.splits > 1 ? workspace : dweight;
  igemm::run("conv2d_backward_weight", InputColumns{x, geo},
             OutputGradRows{dy, s.o, geo.og, int(s.oh * s.ow)},
             WeightGradOut{dst, count, size.rows, geo.og}, size, stream);
  if (size.splits > 1)
    sum_weight_splits(dst, dweight, count, size.splits, stream);
}

}  // namespace

ConvVariant implicit_gemm_variant() {
  ConvVariant v;
  v.number = 3;
  v.name = "implicit GEMM";
  v.unsupported = refusal;
  v.forward = forward;
  v.backward_data = backward_data;
  v.backward_weight = backward_weight;
  v.weight_workspace = weight_workspace;
  return v;
}

}  // namespace danlu::kernels::cuda
