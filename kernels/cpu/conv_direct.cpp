// The direct CPU convolution for 3x3 filters at stride 1.
//
// The lowered path (kernels/cpu/conv.cpp) copies every input element nine
// times into a matrix and then packs that matrix again inside the GEMM; for
// ResNet's 3x3 layers of 16-64 channels those copies cost about as much as
// the multiply-adds. Here the multiply-adds read the input where it lies:
//
// - Each image's input planes are first copied once into a zero-bordered
//   buffer ("padded planes": the padding, plus slack so a vector may run past
//   the last column or row), so the inner loops never test a border.
// - Forward, one output tile: OB output channels x RB rows x one vector of L
//   columns, OB * RB vectors held in registers for the whole reduction. For
//   each input channel and filter column j it loads the RB + 2 input rows
//   the tile needs (shifted by j), and each of them meets the three filter
//   rows: 3 * OB * RB multiply-adds per RB + 2 loads and 3 * OB weight
//   broadcasts. Nothing is written until the tile is done. Tiles go row
//   block by row block, so the rows every channel's tiles read stay in L1.
// - Backward-data at stride 1 is the same convolution of dy (padded by 2 -
//   pad) with the filters flipped and their channel axes swapped, so it
//   runs the same tile loop.
// - Weight gradient: the accumulators are vectors over L output channels,
//   one per filter tap and input channel of a block (9 x 2 with AVX-512), so
//   no lanes need summing. dy is first transposed pixel-major, one vector of
//   output channels per pixel; each pixel loads that vector once and meets
//   the 9 broadcast input values its taps see, per input channel. (A first
//   version vectorised over pixels instead: 9 x 2 vector accumulators per
//   input channel, summed across lanes per group of images. It ran at 0.6 to
//   0.9 of the lowered GEMM's speed.)
//
// Threads take whole images, each with its own padded copy; every output
// element of y and dx is written by one thread, and each thread sums its
// own weight gradient, added in thread order, so the result does not depend
// on timing.
//
// The tile loops are written once with GCC vector extensions and compiled
// per instruction set (kernels/cpu/cpu_isa.h): AVX-512's 32 registers hold a
// 4-channel x 4-row tile or 9 x 2 weight-gradient accumulators, AVX2's and
// SSE2's 16 a 4 x 2 tile or 9 x 1. An output (for the weight gradient: a
// channel count) narrower than half a vector uses half-width vectors.
#include "kernels/cpu/conv_direct.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_isa.h"

namespace danlu::kernels::cpu {

namespace {

constexpr int64_t kTaps = 9;
// Where the direct kernels measured faster than the lowered path
// (docs/performance.md): outputs at least 8 wide (narrower rows leave most
// of a vector's lanes idle), and 16 to 32 channels in and out (with fewer,
// most of a 4-channel tile is padding or the tile's loads and stores
// dominate; with more, the lowered GEMM is deep and wide enough to run
// faster).
constexpr int64_t kDirectMinWidth = 8;
constexpr int64_t kDirectMinChannels = 16, kDirectMaxChannels = 32;
// The weight gradient measured faster from 16 input channels up to 64
// output channels, and even with the lowered one at 128. Over one input
// channel, transposing dy costs as much as the multiply-adds.
constexpr int64_t kDirectMaxWeightChannels = 64;

template <class T, int L>
struct VectorOf {
  typedef T type __attribute__((vector_size(L * sizeof(T))));
};

inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// A plane size (elements) rounded up to whole 64-byte lines and moved off
// the multiples of 4 KiB by at least 256 bytes (4 of its L1 cache's 64 sets).
inline int64_t spread(int64_t elements) {
  int64_t lines = (elements * 4 + 63) / 64;  // in lines of 16 f32 (sized for f32; f64 too)
  while (lines % 64 < 4 || lines % 64 > 60) ++lines;
  return lines * 16;
}

// `channels` planes of an h x w image, each stored as `rows` rows of
// `stride` elements with the image at row `top`, column `left`, and zeros
// elsewhere (written once per call; copies change only the image's part).
struct PaddedPlanes {
  int64_t channels, rows, stride, top, left;
  // Planes lie a little more than rows * stride apart: planes a multiple of
  // 4 KiB apart would put one row of every channel in the same L1 cache set.
  int64_t plane() const { return spread(rows * stride); }
  int64_t size() const { return channels * plane(); }
  int64_t origin() const { return top * stride + left; }
};

template <class T>
void copy_into(const T* src, int64_t h, int64_t w, const PaddedPlanes& g, T* dst) {
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(dst + c * g.plane() + g.origin() + y * g.stride, src + (c * h + y) * w,
                  w * sizeof(T));
}

// One image's direct convolution: out (out_channels, oh, ow) = bias + the 3x3
// filters over the padded input planes. The filters are in tiles of OB output
// channels: weights[((o / OB * C + c) * 9 + tap) * OB + o % OB] is output
// channel o's tap (i * 3 + j) over input channel c, zero past the last
// channel, so a tile's 9 * OB weights for one input channel lie together.
template <class T>
struct ImageConv {
  const T* in;
  PaddedPlanes g;
  const T* weights;
  const T* bias;  // may be null
  T* out;
  int64_t out_channels, oh, ow;
};

// Each call computes every tile of one image, one after another.
template <class T, int L, int OB, int RB>
[[gnu::always_inline]] inline void conv_image(const ImageConv<T>& a) {
  using V = typename VectorOf<T, L>::type;
  const int64_t rs = a.g.stride, plane = a.g.plane(), cin = a.g.channels;
  for (int64_t oy0 = 0; oy0 < a.oh; oy0 += RB)
    for (int64_t o0 = 0; o0 < a.out_channels; o0 += OB)
      for (int64_t ox0 = 0; ox0 < a.ow; ox0 += L) {
        V acc[OB][RB];
#pragma GCC unroll 8
        for (int o = 0; o < OB; ++o) {
          const T b = a.bias && o0 + o < a.out_channels ? a.bias[o0 + o] : T(0);
#pragma GCC unroll 8
          for (int r = 0; r < RB; ++r) acc[o][r] = b - V{};
        }
        const T* base = a.in + oy0 * rs + ox0;
        const T* wc = a.weights + o0 * cin * kTaps;
        for (int64_t c = 0; c < cin; ++c, base += plane, wc += kTaps * OB) {
#pragma GCC unroll 3
          for (int j = 0; j < 3; ++j) {
            V row[RB + 2];
#pragma GCC unroll 10
            for (int r = 0; r < RB + 2; ++r) std::memcpy(&row[r], base + r * rs + j, sizeof(V));
#pragma GCC unroll 3
            for (int i = 0; i < 3; ++i)
#pragma GCC unroll 8
              for (int o = 0; o < OB; ++o) {
                const V w = wc[(i * 3 + j) * OB + o] - V{};  // a broadcast
#pragma GCC unroll 8
                for (int r = 0; r < RB; ++r) acc[o][r] += w * row[r + i];
              }
          }
        }
        const int64_t lanes = std::min<int64_t>(L, a.ow - ox0);
        for (int o = 0; o < OB && o0 + o < a.out_channels; ++o)
          for (int r = 0; r < RB && oy0 + r < a.oh; ++r)
            std::memcpy(a.out + ((o0 + o) * a.oh + oy0 + r) * a.ow + ox0, &acc[o][r],
                        lanes * sizeof(T));
      }
}

// Lays out filters as conv_image reads them (see ImageConv), for `outs`
// output channels over `ins` input channels: tap t of (out, in) is
// filter(out, in, t).
template <class T, class Filter>
void tile_filters(int64_t outs, int64_t ins, int tile, Filter filter, T* weights) {
  const int64_t size = round_up(outs, tile) * ins * kTaps;
  std::fill(weights, weights + size, T(0));
  for (int64_t o = 0; o < outs; ++o)
    for (int64_t c = 0; c < ins; ++c)
      for (int64_t t = 0; t < kTaps; ++t)
        weights[((o / tile * ins + c) * kTaps + t) * tile + o % tile] = filter(o, c, t);
}

// One image's weight gradient, added to this thread's sums:
// sums[(c * 9 + tap) * opad + o] += sum over the output pixels p = (y, x) of
// dy[o][p] * x[c][y + i][x + j], tap = i * 3 + j.
template <class T>
struct WeightGrad {
  const T* x;  // the image's padded x planes
  PaddedPlanes g;
  const T* dyt;  // the image's dy pixel-major: dyt[p * opad + o], zero for o >= O
  int64_t opad, oh, ow;
  T* sums;
};

// Input channels [c0, c0 + CB) against output channels [o0, o0 + L): the
// 9 * CB accumulators are vectors over L output channels, so the sums need
// no reduction across lanes. Each output pixel loads one vector of dy and
// broadcasts the 9 * CB input values its taps see.
template <class T, int L, int CB>
[[gnu::always_inline]] inline void weight_grad_block(const WeightGrad<T>& a, int64_t c0,
                                                     int64_t o0) {
  using V = typename VectorOf<T, L>::type;
  const int64_t rs = a.g.stride, plane = a.g.plane();
  V acc[CB][kTaps];
#pragma GCC unroll 4
  for (int cc = 0; cc < CB; ++cc)
#pragma GCC unroll 9
    for (int t = 0; t < kTaps; ++t)
      std::memcpy(&acc[cc][t], a.sums + ((c0 + cc) * kTaps + t) * a.opad + o0, sizeof(V));
  const T* xc = a.x + c0 * plane;
  for (int64_t y = 0; y < a.oh; ++y) {
    const T* drow = a.dyt + y * a.ow * a.opad + o0;
    for (int64_t x = 0; x < a.ow; ++x) {
      V d;
      std::memcpy(&d, drow + x * a.opad, sizeof(V));
#pragma GCC unroll 4
      for (int cc = 0; cc < CB; ++cc) {
        const T* xb = xc + cc * plane + y * rs + x;
#pragma GCC unroll 3
        for (int i = 0; i < 3; ++i)
#pragma GCC unroll 3
          for (int j = 0; j < 3; ++j) acc[cc][i * 3 + j] += d * (xb[i * rs + j] - V{});
      }
    }
  }
#pragma GCC unroll 4
  for (int cc = 0; cc < CB; ++cc)
#pragma GCC unroll 9
    for (int t = 0; t < kTaps; ++t)
      std::memcpy(a.sums + ((c0 + cc) * kTaps + t) * a.opad + o0, &acc[cc][t], sizeof(V));
}

template <class T, int L, int CB>
[[gnu::always_inline]] inline void weight_grad_image(const WeightGrad<T>& a) {
  const int64_t channels = a.g.channels;
  for (int64_t o0 = 0; o0 < a.opad; o0 += L) {
    int64_t c0 = 0;
    for (; c0 + CB <= channels; c0 += CB) weight_grad_block<T, L, CB>(a, c0, o0);
    for (; c0 < channels; ++c0) weight_grad_block<T, L, 1>(a, c0, o0);
  }
}

// One instruction set's entry points for vectors of `lanes` elements of T.
template <class T>
struct Kernel {
  int lanes, tile_channels, tile_rows;
  void (*conv_image)(const ImageConv<T>&);
  void (*weight_grad_image)(const WeightGrad<T>&);
};

// OB x RB: the forward tile; CB: input channels per weight-gradient block.
#define DANLU_DIRECT_KERNELS(NAME, TARGET, BYTES, OB, RB, CB)                               \
  template <class T, int L>                                                                \
  __attribute__((target(TARGET))) void NAME##_conv_image(const ImageConv<T>& a) {         \
    conv_image<T, L, OB, RB>(a);                                                           \
  }                                                                                        \
  template <class T, int L>                                                                \
  __attribute__((target(TARGET))) void NAME##_weight_grad_image(const WeightGrad<T>& a) { \
    weight_grad_image<T, L, CB>(a);                                                        \
  }                                                                                        \
  template <class T>                                                                       \
  Kernel<T> NAME##_kernel(int64_t width) {                                                 \
    constexpr int kFull = BYTES / sizeof(T), kHalf = kFull / 2;                            \
    if (kHalf >= 2 && width <= kHalf)                                                      \
      return {kHalf, OB, RB, &NAME##_conv_image<T, kHalf>,                                 \
              &NAME##_weight_grad_image<T, kHalf>};                                        \
    return {kFull, OB, RB, &NAME##_conv_image<T, kFull>, &NAME##_weight_grad_image<T, kFull>}; \
  }
DANLU_DIRECT_KERNELS(avx512, "avx512f,fma", 64, 4, 4, 2)
DANLU_DIRECT_KERNELS(avx2, "avx2,fma", 32, 4, 2, 1)
DANLU_DIRECT_KERNELS(sse2, "sse2", 16, 4, 2, 1)
#undef DANLU_DIRECT_KERNELS

// The kernel for outputs `width` wide (for the weight gradient: `width`
// output channels).
template <class T>
Kernel<T> kernel_for(int64_t width) {
  switch (cpu_isa()) {
    case CpuIsa::avx512: return avx512_kernel<T>(width);
    case CpuIsa::avx2: return avx2_kernel<T>(width);
    case CpuIsa::sse2: break;
  }
  return sse2_kernel<T>(width);
}

inline int threads_here() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

// A batch of stride-1 3x3 convolutions of zero-padded planes: the forward
// (x padded by `pad` to y) and dx (dy padded by 2 - pad to dx) are both one.
struct PlaneConv {
  int64_t n, in_channels, in_h, in_w, out_channels, out_h, out_w, top, left;
};
PlaneConv forward_problem(const Conv2dShape& s) {
  return {s.n, s.c, s.h, s.w, s.o, s.oh, s.ow, s.pad_h, s.pad_w};
}
PlaneConv backward_data_problem(const Conv2dShape& s) {
  return {s.n, s.o, s.oh, s.ow, s.c, s.h, s.w, 2 - s.pad_h, 2 - s.pad_w};
}

// Where a call puts things in its workspace: the filters in tiles, then
// one padded image per thread.
struct Layout {
  PaddedPlanes in;
  int64_t weights;
  int threads;
  int64_t workspace() const { return weights + threads * in.size(); }
};

template <class T>
Layout layout(const Kernel<T>& k, const PlaneConv& p) {
  const PaddedPlanes in{p.in_channels, round_up(p.out_h, k.tile_rows) + 2,
                        round_up(p.out_w, k.lanes) + 2, p.top, p.left};
  return {in, round_up(p.out_channels, k.tile_channels) * p.in_channels * kTaps, threads_here()};
}
template <class T>
int64_t workspace_of(const PlaneConv& p) {
  return layout(kernel_for<T>(p.out_w), p).workspace();
}

// Runs the plane convolution p on `in`, writing `out`: the filters (filter(o,
// c, tap) for output channel o over input channel c) tiled at the front of
// the workspace, then each thread's images through its own padded copy.
template <class T, class Filter>
void run_planes(const PlaneConv& p, Filter filter, const T* bias, const T* in, T* out,
                T* workspace) {
  const Kernel<T> k = kernel_for<T>(p.out_w);
  const Layout l = layout(k, p);
  tile_filters(p.out_channels, p.in_channels, k.tile_channels, filter, workspace);
  const int64_t in_size = p.in_channels * p.in_h * p.in_w;
  const int64_t out_size = p.out_channels * p.out_h * p.out_w;
#pragma omp parallel num_threads(l.threads)
  {
    T* padded = workspace + l.weights + omp_get_thread_num() * l.in.size();
    std::fill(padded, padded + l.in.size(), T(0));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < p.n; ++b) {
      copy_into(in + b * in_size, p.in_h, p.in_w, l.in, padded);
      k.conv_image({padded, l.in, workspace, bias, out + b * out_size, p.out_channels, p.out_h,
                    p.out_w});
    }
  }
}

// The weight gradient's per-thread buffers: padded x, dy pixel-major with
// its channels padded to whole vectors, and the sums (C, 9, opad).
struct GradLayout {
  PaddedPlanes x;
  int64_t opad, dyt, sums;
  int threads;
  int64_t per_thread() const { return x.size() + dyt + sums; }
  int64_t workspace() const { return threads * per_thread(); }
};

template <class T>
GradLayout weight_grad_layout(const Conv2dShape& s) {
  const Kernel<T> k = kernel_for<T>(s.o);
  const int64_t opad = round_up(s.o, k.lanes);
  // The reads reach rows oh + 1 and one column past ow + 1: the forward's
  // geometry for a one-row tile covers them.
  const PaddedPlanes x{s.c, s.oh + 2, s.ow + 2, s.pad_h, s.pad_w};
  return {x, opad, s.oh * s.ow * opad, s.c * kTaps * opad, threads_here()};
}

}  // namespace

bool conv2d_direct_supports(const Conv2dShape& s) {
  const auto pad_ok = [](int64_t p) { return p >= 0 && p <= 2; };
  return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dil_h == 1 &&
         s.dil_w == 1 && s.groups == 1 && pad_ok(s.pad_h) && pad_ok(s.pad_w) && s.oh >= 1 &&
         s.ow >= 1 && s.c >= 1 && s.o >= 1;
}

bool conv2d_direct_weight_is_faster(const Conv2dShape& s) {
  return conv2d_direct_supports(s) && s.c >= kDirectMinChannels &&
         s.o <= kDirectMaxWeightChannels;
}

bool conv2d_direct_is_faster(const Conv2dShape& s) {
  const auto in_range = [](int64_t channels) {
    return channels >= kDirectMinChannels && channels <= kDirectMaxChannels;
  };
  return conv2d_direct_supports(s) && s.ow >= kDirectMinWidth && in_range(s.c) && in_range(s.o);
}

int64_t conv2d_direct_workspace(const Conv2dShape& s) {
  // f64 vectors have half the lanes, so its rows may pad differently.
  const PlaneConv forward = forward_problem(s), backward_data = backward_data_problem(s);
  return std::max({workspace_of<float>(forward), workspace_of<double>(forward),
                   workspace_of<float>(backward_data), workspace_of<double>(backward_data),
                   weight_grad_layout<float>(s).workspace(),
                   weight_grad_layout<double>(s).workspace()});
}

template <class T>
void conv2d_direct_forward(const T* x, const T* weight, const T* bias, T* y, T* workspace,
                           const Conv2dShape& s) {
  const auto filter = [&](int64_t o, int64_t c, int64_t t) {
    return weight[(o * s.c + c) * kTaps + t];
  };
  run_planes(forward_problem(s), filter, bias, x, y, workspace);
}

// dx's filters: input channel c's tap t over dy's channel o is weight[o][c][8 - t].
template <class T>
void conv2d_direct_backward_data(const T* weight, const T* dy, T* dx, T* workspace,
                                 const Conv2dShape& s) {
  const auto flipped = [&](int64_t c, int64_t o, int64_t t) {
    return weight[(o * s.c + c) * kTaps + kTaps - 1 - t];
  };
  run_planes(backward_data_problem(s), flipped, static_cast<const T*>(nullptr), dy, dx, workspace);
}

// Threads take whole images, each adding into its own sums; the sums are
// added in thread order, so the result does not depend on timing.
template <class T>
void conv2d_direct_backward_weight(const T* x, const T* dy, T* dweight, T* workspace,
                                   const Conv2dShape& s) {
  const Kernel<T> k = kernel_for<T>(s.o);
  const GradLayout l = weight_grad_layout<T>(s);
  const int64_t plane = s.oh * s.ow;
#pragma omp parallel num_threads(l.threads)
  {
    T* padded = workspace + omp_get_thread_num() * l.per_thread();
    T* dyt = padded + l.x.size();
    T* sums = dyt + l.dyt;
    std::fill(padded, padded + l.per_thread(), T(0));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < s.n; ++b) {
      copy_into(x + b * s.c * s.h * s.w, s.h, s.w, l.x, padded);
      const T* dyb = dy + b * s.o * plane;
      for (int64_t p = 0; p < plane; ++p)
        for (int64_t o = 0; o < s.o; ++o) dyt[p * l.opad + o] = dyb[o * plane + p];
      k.weight_grad_image({padded, l.x, dyt, l.opad, s.oh, s.ow, sums});
    }
  }
  const int64_t dw_size = s.o * s.c * kTaps;
  std::fill(dweight, dweight + dw_size, T(0));
  for (int t = 0; t < l.threads; ++t) {
    const T* sums = workspace + t * l.per_thread() + l.x.size() + l.dyt;
    for (int64_t o = 0; o < s.o; ++o)
      for (int64_t ct = 0; ct < s.c * kTaps; ++ct)
        dweight[o * s.c * kTaps + ct] += sums[ct * l.opad + o];
  }
}

#define DANLU_INSTANTIATE(T)                                                                \
  template void conv2d_direct_forward<T>(const T*, const T*, const T*, T*, T*,             \
                                         const Conv2dShape&);                               \
  template void conv2d_direct_backward_data<T>(const T*, const T*, T*, T*, const Conv2dShape&); \
  template void conv2d_direct_backward_weight<T>(const T*, const T*, T*, T*, const Conv2dShape&);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
