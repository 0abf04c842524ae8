// The plain reference conv2d (kernels/cpu/conv_reference.h). Every
// direction is the same loop nest: for each filter tap (k, i, j) and output
// position (oy, ox) whose input position (iy, ix) is inside the input (not
// in the padding), one product x * weight, dy * weight or dy * x is added to
// y, dx or dweight. Sums run in double and are rounded once, so the f32
// version is the exact result rounded, give or take double rounding. The
// fast path is kernels/cpu/conv.cpp.
#include "kernels/cpu/conv_reference.h"

#include <vector>

namespace danlu::kernels::reference {

namespace {

// The input row (or column) that output position `out` reads through tap `k`.
inline int64_t input_pos(int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  return out * stride - pad + k * dil;
}

}  // namespace

// y[n, o] sums x * weight over the input channels k of o's group, the taps
// (i, j) and the output positions whose tap lands inside the input. One
// output plane (n, o) at a time, summed in double.
template <class T>
void conv2d_forward(const T* x, const T* weight, const T* bias, T* y, const Conv2dShape& s) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.o; ++o) {
      std::vector<double> acc(s.oh * s.ow, bias ? double(bias[o]) : 0.0);
      for (int64_t k = 0; k < cg; ++k) {
        const T* plane = x + (n * s.c + o / og * cg + k) * s.h * s.w;
        const T* filter = weight + (o * cg + k) * s.kh * s.kw;
        for (int64_t i = 0; i < s.kh; ++i)
          for (int64_t j = 0; j < s.kw; ++j)
            for (int64_t oy = 0; oy < s.oh; ++oy) {
              const int64_t iy = input_pos(oy, i, s.stride_h, s.pad_h, s.dil_h);
              if (iy < 0 || iy >= s.h) continue;
              for (int64_t ox = 0; ox < s.ow; ++ox) {
                const int64_t ix = input_pos(ox, j, s.stride_w, s.pad_w, s.dil_w);
                if (ix < 0 || ix >= s.w) continue;
                acc[oy * s.ow + ox] += double(plane[iy * s.w + ix]) * double(filter[i * s.kw + j]);
              }
            }
      }
      T* out = y + (n * s.o + o) * s.oh * s.ow;
      for (int64_t p = 0; p < s.oh * s.ow; ++p) out[p] = static_cast<T>(acc[p]);
    }
}

// dx is the forward's adjoint: every term the forward reads from
// x[n, c, iy, ix] adds its dy * weight back there. One input plane (n, c) at
// a time, summed in double.
template <class T>
void conv2d_backward_data(const T* weight, const T* dy, T* dx, const Conv2dShape& s) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c) {
      std::vector<double> acc(s.h * s.w, 0.0);
      for (int64_t o = c / cg * og; o < (c / cg + 1) * og; ++o) {
        const T* grad = dy + (n * s.o + o) * s.oh * s.ow;
        const T* filter = weight + (o * cg + c % cg) * s.kh * s.kw;
        for (int64_t i = 0; i < s.kh; ++i)
          for (int64_t j = 0; j < s.kw; ++j)
            for (int64_t oy = 0; oy < s.oh; ++oy) {
              const int64_t iy = input_pos(oy, i, s.stride_h, s.pad_h, s.dil_h);
              if (iy < 0 || iy >= s.h) continue;
              for (int64_t ox = 0; ox < s.ow; ++ox) {
                const int64_t ix = input_pos(ox, j, s.stride_w, s.pad_w, s.dil_w);
                if (ix < 0 || ix >= s.w) continue;
                acc[iy * s.w + ix] += double(grad[oy * s.ow + ox]) * double(filter[i * s.kw + j]);
              }
            }
      }
      T* plane = dx + (n * s.c + c) * s.h * s.w;
      for (int64_t k = 0; k < s.h * s.w; ++k) plane[k] = static_cast<T>(acc[k]);
    }
}

// dweight[o, k, i, j] sums dy * x over the batch and the output positions
// whose tap (i, j) lands inside the input; dbias[o] sums dy over the batch
// and every output position.
template <class T>
void conv2d_backward_weight(const T* x, const T* dy, T* dweight, T* dbias, const Conv2dShape& s) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
#pragma omp parallel for collapse(2)
  for (int64_t o = 0; o < s.o; ++o)
    for (int64_t k = 0; k < cg; ++k)
      for (int64_t i = 0; i < s.kh; ++i)
        for (int64_t j = 0; j < s.kw; ++j) {
          double acc = 0.0;
          for (int64_t n = 0; n < s.n; ++n) {
            const T* plane = x + (n * s.c + o / og * cg + k) * s.h * s.w;
            const T* grad = dy + (n * s.o + o) * s.oh * s.ow;
            for (int64_t oy = 0; oy < s.oh; ++oy) {
              const int64_t iy = input_pos(oy, i, s.stride_h, s.pad_h, s.dil_h);
              if (iy < 0 || iy >= s.h) continue;
              for (int64_t ox = 0; ox < s.ow; ++ox) {
                const int64_t ix = input_pos(ox, j, s.stride_w, s.pad_w, s.dil_w);
                if (ix < 0 || ix >= s.w) continue;
                acc += double(grad[oy * s.ow + ox]) * double(plane[iy * s.w + ix]);
              }
            }
          }
          dweight[((o * cg + k) * s.kh + i) * s.kw + j] = static_cast<T>(acc);
        }
  if (!dbias) return;
  for (int64_t o = 0; o < s.o; ++o) {
    double acc = 0.0;
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t p = 0; p < s.oh * s.ow; ++p) acc += dy[(n * s.o + o) * s.oh * s.ow + p];
    dbias[o] = static_cast<T>(acc);
  }
}

#define DANLU_INSTANTIATE(T)                                                             \
  template void conv2d_forward<T>(const T*, const T*, const T*, T*, const Conv2dShape&); \
  template void conv2d_backward_data<T>(const T*, const T*, T*, const Conv2dShape&);     \
  template void conv2d_backward_weight<T>(const T*, const T*, T*, T*, const Conv2dShape&);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::reference
