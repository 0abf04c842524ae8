// CPU pooling: OpenMP over the planes (N*C); each iteration owns one input
// and one output plane, so the backward scatters need no atomics.
#include "kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/isa_clones.h"

namespace danlu::kernels::cpu {

namespace {
constexpr int64_t kParallelGrain = 1 << 14;

// One axis of a window: input positions [lo, hi) clipped to the input, and
// `padded`, the window's length clipped only to the padded input (the
// divisor of count_include_pad). Windows factor into a row span and a
// column span, so each axis is tabulated once per call.
struct Span {
  int64_t lo, hi, padded;
};

std::vector<Span> pool_spans(int64_t size, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  std::vector<Span> spans(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - pad, end = std::min(start + k, size + pad);
    spans[o] = {std::max<int64_t>(start, 0), std::min(end, size), end - start};
  }
  return spans;
}

std::vector<Span> adaptive_spans(int64_t size, int64_t out) {
  std::vector<Span> spans(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t lo = o * size / out, hi = ((o + 1) * size + out - 1) / out;
    spans[o] = {lo, hi, hi - lo};
  }
  return spans;
}

inline bool parallel(const Pool2dShape& s) { return s.planes * s.h * s.w > kParallelGrain; }

inline int64_t divisor(const Span& y, const Span& x, bool count_include_pad) {
  return count_include_pad ? y.padded * x.padded : (y.hi - y.lo) * (x.hi - x.lo);
}

template <class T>
void avg_forward(const T* x, T* out, const Pool2dShape& s, const std::vector<Span>& ys,
                 const std::vector<Span>& xs, bool count_include_pad) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* in = x + p * s.h * s.w;
    T* y = out + p * s.oh * s.ow;
    for (int64_t oy = 0; oy < s.oh; ++oy) {
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const Span& sy = ys[oy];
        const Span& sx = xs[ox];
        T acc = 0;
        for (int64_t iy = sy.lo; iy < sy.hi; ++iy)
          for (int64_t ix = sx.lo; ix < sx.hi; ++ix) acc += in[iy * s.w + ix];
        y[oy * s.ow + ox] = acc / static_cast<T>(divisor(sy, sx, count_include_pad));
      }
    }
  }
}

template <class T>
void avg_backward(const T* dy, T* dx, const Pool2dShape& s, const std::vector<Span>& ys,
                  const std::vector<Span>& xs, bool count_include_pad) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    T* out = dx + p * s.h * s.w;
    const T* g = dy + p * s.oh * s.ow;
    std::fill(out, out + s.h * s.w, T(0));
    for (int64_t oy = 0; oy < s.oh; ++oy) {
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const Span& sy = ys[oy];
        const Span& sx = xs[ox];
        const T share = g[oy * s.ow + ox] / static_cast<T>(divisor(sy, sx, count_include_pad));
        for (int64_t iy = sy.lo; iy < sy.hi; ++iy)
          for (int64_t ix = sx.lo; ix < sx.hi; ++ix) out[iy * s.w + ix] += share;
      }
    }
  }
}

// Whether every window is the 2x2 block at (2*oy, 2*ox): the common
// "MaxPool2d(2)" case, which max_pool2x2 runs without window bookkeeping.
bool is_plain_2x2(const Pool2dShape& s) {
  return s.kh == 2 && s.kw == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 &&
         s.pad_w == 0 && 2 * s.oh <= s.h && 2 * s.ow <= s.w;
}

// MaxPool2d(2), one plane: the four candidates of each window are compared
// with selects rather than branches (window maxima of real activations are
// unpredictable, and a mispredicted branch per element dominated the
// general loop), which also lets each output row vectorise.
template <class T>
inline void max_pool2x2_plane(const T* in, T* out, int32_t* idx, int64_t w, int64_t oh,
                              int64_t ow) {
  const int32_t w32 = static_cast<int32_t>(w);  // a plane's offsets fit int32
  for (int64_t oy = 0; oy < oh; ++oy) {
    const T* top = in + 2 * oy * w;
    const T* bottom = top + w;
    const int32_t row = static_cast<int32_t>(2 * oy * w);
    for (int64_t ox = 0; ox < ow; ++ox) {
      const T b = top[2 * ox + 1], c = bottom[2 * ox], d = bottom[2 * ox + 1];
      T best = top[2 * ox];
      int32_t offset = 0;
      bool take = b > best || b != b;  // NaN wins, as in PyTorch
      best = take ? b : best, offset = take ? 1 : offset;
      take = c > best || c != c;
      best = take ? c : best, offset = take ? w32 : offset;
      take = d > best || d != d;
      best = take ? d : best, offset = take ? w32 + 1 : offset;
      out[oy * ow + ox] = best;
      idx[oy * ow + ox] = row + static_cast<int32_t>(2 * ox) + offset;
    }
  }
}
DANLU_ISA_CLONES(max_pool2x2_plane, max_pool2x2_plane)

template <class T>
void max_pool2x2(const T* x, T* y, int32_t* indices, const Pool2dShape& s) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p)
    max_pool2x2_plane_for_cpu(x + p * s.h * s.w, y + p * s.oh * s.ow, indices + p * s.oh * s.ow,
                              s.w, s.oh, s.ow);
}
}  // namespace

template <class T>
void max_pool2d_forward(const T* x, T* y, int32_t* indices, const Pool2dShape& s) {
  if (is_plain_2x2(s)) return max_pool2x2(x, y, indices, s);
  const std::vector<Span> ys = pool_spans(s.h, s.oh, s.kh, s.stride_h, s.pad_h);
  const std::vector<Span> xs = pool_spans(s.w, s.ow, s.kw, s.stride_w, s.pad_w);
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* in = x + p * s.h * s.w;
    T* out = y + p * s.oh * s.ow;
    int32_t* idx = indices + p * s.oh * s.ow;
    for (int64_t oy = 0; oy < s.oh; ++oy) {
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const Span& sy = ys[oy];
        const Span& sx = xs[ox];
        T best = -std::numeric_limits<T>::infinity();
        int64_t best_at = sy.lo * s.w + sx.lo;
        for (int64_t iy = sy.lo; iy < sy.hi; ++iy) {
          for (int64_t ix = sx.lo; ix < sx.hi; ++ix) {
            const T v = in[iy * s.w + ix];
            const bool take = v > best || std::isnan(v);  // selects, not branches: maxima are random
            best = take ? v : best;
            best_at = take ? iy * s.w + ix : best_at;
          }
        }
        out[oy * s.ow + ox] = best;
        idx[oy * s.ow + ox] = static_cast<int32_t>(best_at);
      }
    }
  }
}

template <class T>
void max_pool2d_backward(const T* dy, const int32_t* indices, T* dx, const Pool2dShape& s) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    T* out = dx + p * s.h * s.w;
    const T* g = dy + p * s.oh * s.ow;
    const int32_t* idx = indices + p * s.oh * s.ow;
    std::fill(out, out + s.h * s.w, T(0));
    for (int64_t k = 0; k < s.oh * s.ow; ++k) out[idx[k]] += g[k];
  }
}

template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dShape& s, bool count_include_pad) {
  avg_forward(x, y, s, pool_spans(s.h, s.oh, s.kh, s.stride_h, s.pad_h),
              pool_spans(s.w, s.ow, s.kw, s.stride_w, s.pad_w), count_include_pad);
}

template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dShape& s, bool count_include_pad) {
  avg_backward(dy, dx, s, pool_spans(s.h, s.oh, s.kh, s.stride_h, s.pad_h),
               pool_spans(s.w, s.ow, s.kw, s.stride_w, s.pad_w), count_include_pad);
}

template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dShape& s) {
  avg_forward(x, y, s, adaptive_spans(s.h, s.oh), adaptive_spans(s.w, s.ow), true);
}

template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dShape& s) {
  avg_backward(dy, dx, s, adaptive_spans(s.h, s.oh), adaptive_spans(s.w, s.ow), true);
}

#define DANLU_INSTANTIATE(T)                                                                \
  template void max_pool2d_forward<T>(const T*, T*, int32_t*, const Pool2dShape&);          \
  template void max_pool2d_backward<T>(const T*, const int32_t*, T*, const Pool2dShape&);   \
  template void avg_pool2d_forward<T>(const T*, T*, const Pool2dShape&, bool);              \
  template void avg_pool2d_backward<T>(const T*, T*, const Pool2dShape&, bool);             \
  template void adaptive_avg_pool2d_forward<T>(const T*, T*, const Pool2dShape&);           \
  template void adaptive_avg_pool2d_backward<T>(const T*, T*, const Pool2dShape&);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
