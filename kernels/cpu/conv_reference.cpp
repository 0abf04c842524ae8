// The plain reference conv2d (kernels/cpu/conv_reference.h): one loop nest
// per direction, each output element a sum written out as the definition
// says. Every sum accumulates in double and is rounded once, so the f32
// version is the f64 one rounded: a test's tolerance bounds the rounding of
// the kernel under test alone. The fast path is kernels/cpu/conv.cpp.
#include "kernels/cpu/conv_reference.h"

namespace danlu::kernels::reference {

namespace {

// The input row (or column) that output position `out` reads through tap `k`.
inline int64_t input_pos(int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  return out * stride - pad + k * dil;
}

}  // namespace

template <class T>
void conv2d_forward(const T* x, const T* weight, const T* bias, T* y, const Conv2dShape& s) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.o; ++o)
      for (int64_t oy = 0; oy < s.oh; ++oy)
        for (int64_t ox = 0; ox < s.ow; ++ox) {
          double acc = bias ? bias[o] : 0.0;
          for (int64_t k = 0; k < cg; ++k)
            for (int64_t i = 0; i < s.kh; ++i)
              for (int64_t j = 0; j < s.kw; ++j) {
                const int64_t iy = input_pos(oy, i, s.stride_h, s.pad_h, s.dil_h);
                const int64_t ix = input_pos(ox, j, s.stride_w, s.pad_w, s.dil_w);
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                const int64_t c = o / og * cg + k;
                acc += double(x[((n * s.c + c) * s.h + iy) * s.w + ix]) *
                       double(weight[((o * cg + k) * s.kh + i) * s.kw + j]);
              }
          y[((n * s.o + o) * s.oh + oy) * s.ow + ox] = static_cast<T>(acc);
        }
}

// dx[n, c, iy, ix] sums dy * weight over every (o, i, j) and output (oy, ox)
// whose tap lands on (iy, ix): oy = (iy + pad - i*dil) / stride when that
// divides exactly and falls inside the output.
template <class T>
void conv2d_backward_data(const T* weight, const T* dy, T* dx, const Conv2dShape& s) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t iy = 0; iy < s.h; ++iy)
        for (int64_t ix = 0; ix < s.w; ++ix) {
          double acc = 0.0;
          for (int64_t o = c / cg * og; o < (c / cg + 1) * og; ++o)
            for (int64_t i = 0; i < s.kh; ++i)
              for (int64_t j = 0; j < s.kw; ++j) {
                const int64_t ty = iy + s.pad_h - i * s.dil_h, tx = ix + s.pad_w - j * s.dil_w;
                if (ty % s.stride_h != 0 || tx % s.stride_w != 0) continue;
                const int64_t oy = ty / s.stride_h, ox = tx / s.stride_w;
                if (oy < 0 || oy >= s.oh || ox < 0 || ox >= s.ow) continue;
                acc += double(dy[((n * s.o + o) * s.oh + oy) * s.ow + ox]) *
                       double(weight[((o * cg + c % cg) * s.kh + i) * s.kw + j]);
              }
          dx[((n * s.c + c) * s.h + iy) * s.w + ix] = static_cast<T>(acc);
        }
}

// dweight[o, k, i, j] sums dy * x over the batch and every output position;
// dbias[o] sums dy over the same.
template <class T>
void conv2d_backward_weight(const T* x, const T* dy, T* dweight, T* dbias, const Conv2dShape& s) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
#pragma omp parallel for collapse(2)
  for (int64_t o = 0; o < s.o; ++o)
    for (int64_t k = 0; k < cg; ++k)
      for (int64_t i = 0; i < s.kh; ++i)
        for (int64_t j = 0; j < s.kw; ++j) {
          double acc = 0.0;
          const int64_t c = o / og * cg + k;
          for (int64_t n = 0; n < s.n; ++n)
            for (int64_t oy = 0; oy < s.oh; ++oy)
              for (int64_t ox = 0; ox < s.ow; ++ox) {
                const int64_t iy = input_pos(oy, i, s.stride_h, s.pad_h, s.dil_h);
                const int64_t ix = input_pos(ox, j, s.stride_w, s.pad_w, s.dil_w);
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                acc += double(dy[((n * s.o + o) * s.oh + oy) * s.ow + ox]) *
                       double(x[((n * s.c + c) * s.h + iy) * s.w + ix]);
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
