// CPU pooling: OpenMP over the planes (N*C); each iteration owns one input
// and one output plane, so the backward scatters need no atomics.
#include "kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace danlu::kernels::cpu {

namespace {
constexpr int64_t kParallelGrain = 1 << 14;

// A window's rows [y0, y1) and columns [x0, x1) clipped to the input, and
// its divisor for the average pools.
struct Window {
  int64_t y0, y1, x0, x1;
  int64_t divisor;
};

inline Window pool_window(const Pool2dShape& s, int64_t oy, int64_t ox, bool count_include_pad) {
  int64_t y0 = oy * s.stride_h - s.pad_h, x0 = ox * s.stride_w - s.pad_w;
  int64_t y1 = std::min(y0 + s.kh, s.h + s.pad_h), x1 = std::min(x0 + s.kw, s.w + s.pad_w);
  const int64_t padded_size = (y1 - y0) * (x1 - x0);
  y0 = std::max<int64_t>(y0, 0);
  x0 = std::max<int64_t>(x0, 0);
  y1 = std::min(y1, s.h);
  x1 = std::min(x1, s.w);
  return {y0, y1, x0, x1, count_include_pad ? padded_size : (y1 - y0) * (x1 - x0)};
}

inline Window adaptive_window(const Pool2dShape& s, int64_t oy, int64_t ox) {
  const int64_t y0 = oy * s.h / s.oh, y1 = ((oy + 1) * s.h + s.oh - 1) / s.oh;
  const int64_t x0 = ox * s.w / s.ow, x1 = ((ox + 1) * s.w + s.ow - 1) / s.ow;
  return {y0, y1, x0, x1, (y1 - y0) * (x1 - x0)};
}

inline bool parallel(const Pool2dShape& s) { return s.planes * s.h * s.w > kParallelGrain; }
}  // namespace

template <class T>
void max_pool2d_forward(const T* x, T* y, int64_t* indices, const Pool2dShape& s) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* in = x + p * s.h * s.w;
    T* out = y + p * s.oh * s.ow;
    int64_t* idx = indices + p * s.oh * s.ow;
    for (int64_t oy = 0; oy < s.oh; ++oy) {
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const Window win = pool_window(s, oy, ox, false);
        T best = -std::numeric_limits<T>::infinity();
        int64_t best_at = win.y0 * s.w + win.x0;
        for (int64_t iy = win.y0; iy < win.y1; ++iy) {
          for (int64_t ix = win.x0; ix < win.x1; ++ix) {
            const T v = in[iy * s.w + ix];
            if (v > best || std::isnan(v)) {
              best = v;
              best_at = iy * s.w + ix;
            }
          }
        }
        out[oy * s.ow + ox] = best;
        idx[oy * s.ow + ox] = best_at;
      }
    }
  }
}

template <class T>
void max_pool2d_backward(const T* dy, const int64_t* indices, T* dx, const Pool2dShape& s) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    T* out = dx + p * s.h * s.w;
    const T* g = dy + p * s.oh * s.ow;
    const int64_t* idx = indices + p * s.oh * s.ow;
    std::fill(out, out + s.h * s.w, T(0));
    for (int64_t k = 0; k < s.oh * s.ow; ++k) out[idx[k]] += g[k];
  }
}

template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dShape& s, bool count_include_pad) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* in = x + p * s.h * s.w;
    T* out = y + p * s.oh * s.ow;
    for (int64_t oy = 0; oy < s.oh; ++oy) {
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const Window win = pool_window(s, oy, ox, count_include_pad);
        T acc = 0;
        for (int64_t iy = win.y0; iy < win.y1; ++iy)
          for (int64_t ix = win.x0; ix < win.x1; ++ix) acc += in[iy * s.w + ix];
        out[oy * s.ow + ox] = acc / static_cast<T>(win.divisor);
      }
    }
  }
}

template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dShape& s, bool count_include_pad) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    T* out = dx + p * s.h * s.w;
    const T* g = dy + p * s.oh * s.ow;
    std::fill(out, out + s.h * s.w, T(0));
    for (int64_t oy = 0; oy < s.oh; ++oy) {
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const Window win = pool_window(s, oy, ox, count_include_pad);
        const T share = g[oy * s.ow + ox] / static_cast<T>(win.divisor);
        for (int64_t iy = win.y0; iy < win.y1; ++iy)
          for (int64_t ix = win.x0; ix < win.x1; ++ix) out[iy * s.w + ix] += share;
      }
    }
  }
}

template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dShape& s) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* in = x + p * s.h * s.w;
    T* out = y + p * s.oh * s.ow;
    for (int64_t oy = 0; oy < s.oh; ++oy) {
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const Window win = adaptive_window(s, oy, ox);
        T acc = 0;
        for (int64_t iy = win.y0; iy < win.y1; ++iy)
          for (int64_t ix = win.x0; ix < win.x1; ++ix) acc += in[iy * s.w + ix];
        out[oy * s.ow + ox] = acc / static_cast<T>(win.divisor);
      }
    }
  }
}

template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dShape& s) {
#pragma omp parallel for if (parallel(s))
  for (int64_t p = 0; p < s.planes; ++p) {
    T* out = dx + p * s.h * s.w;
    const T* g = dy + p * s.oh * s.ow;
    std::fill(out, out + s.h * s.w, T(0));
    for (int64_t oy = 0; oy < s.oh; ++oy) {
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const Window win = adaptive_window(s, oy, ox);
        const T share = g[oy * s.ow + ox] / static_cast<T>(win.divisor);
        for (int64_t iy = win.y0; iy < win.y1; ++iy)
          for (int64_t ix = win.x0; ix < win.x1; ++ix) out[iy * s.w + ix] += share;
      }
    }
  }
}

#define DANLU_INSTANTIATE(T)                                                                \
  template void max_pool2d_forward<T>(const T*, T*, int64_t*, const Pool2dShape&);          \
  template void max_pool2d_backward<T>(const T*, const int64_t*, T*, const Pool2dShape&);   \
  template void avg_pool2d_forward<T>(const T*, T*, const Pool2dShape&, bool);              \
  template void avg_pool2d_backward<T>(const T*, T*, const Pool2dShape&, bool);             \
  template void adaptive_avg_pool2d_forward<T>(const T*, T*, const Pool2dShape&);           \
  template void adaptive_avg_pool2d_backward<T>(const T*, T*, const Pool2dShape&);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
