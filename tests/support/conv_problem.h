// A conv2d problem for the kernel tests: a shape, seeded random x, weight,
// bias and dy, the plain reference conv's answers (kernels/cpu/conv_reference.h,
// the oracle of every conv kernel), and the tolerance a kernel's answer is
// held to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_reference.h"
#include "tests/support/expect_close.h"
#include "tests/support/gpu_parity.h"

namespace danlu::testing {

// s with OH and OW computed from its other sizes (after changing a stride,
// padding or dilation that conv() set for both axes).
inline kernels::Conv2dShape with_output_size(kernels::Conv2dShape s) {
  s.oh = (s.h + 2 * s.pad_h - s.dil_h * (s.kh - 1) - 1) / s.stride_h + 1;
  s.ow = (s.w + 2 * s.pad_w - s.dil_w * (s.kw - 1) - 1) / s.stride_w + 1;
  return s;
}

inline int64_t x_size(const kernels::Conv2dShape& s) { return s.n * s.c * s.h * s.w; }
inline int64_t w_size(const kernels::Conv2dShape& s) { return s.o * s.c / s.groups * s.kh * s.kw; }
inline int64_t y_size(const kernels::Conv2dShape& s) { return s.n * s.o * s.oh * s.ow; }

template <class T>
struct ConvGrads {
  std::vector<T> dx, dw, db;
};

// x, weight and dy uniform in [-scale, scale) for scales (sx, sw, sy), bias
// in [-1, 1), and the reference's y and gradients. The values are floats, so
// a problem in double has the same data.
template <class T>
struct ConvProblem {
  kernels::Conv2dShape s;
  double sx, sw, sy;
  std::vector<T> x, w, b, dy;
  std::vector<T> y_ref;
  ConvGrads<T> grads_ref;

  ConvProblem(const kernels::Conv2dShape& shape, uint64_t seed, float x_scale = 1,
              float w_scale = 1, float dy_scale = 1)
      : s(shape), sx(x_scale), sw(w_scale), sy(dy_scale) {
    const auto values = [](int64_t n, uint64_t seed, float scale) {
      const std::vector<float> v = uniform_floats(n, seed, -scale, scale);
      return std::vector<T>(v.begin(), v.end());
    };
    x = values(x_size(s), seed, x_scale);
    w = values(w_size(s), seed + 1, w_scale);
    b = values(s.o, seed + 2, 1.f);
    dy = values(y_size(s), seed + 3, dy_scale);
    namespace ref = kernels::reference;
    y_ref.resize(y_size(s));
    ref::conv2d_forward<T>(x.data(), w.data(), b.data(), y_ref.data(), s);
    grads_ref = {std::vector<T>(x.size()), std::vector<T>(w.size()), std::vector<T>(s.o)};
    ref::conv2d_backward_data<T>(w.data(), dy.data(), grads_ref.dx.data(), s);
    ref::conv2d_backward_weight<T>(x.data(), dy.data(), grads_ref.dw.data(), grads_ref.db.data(),
                                   s);
  }
};

// Tolerances, for a kernel whose sums round with unit roundoff u (2^-24 in
// f32, 2^-53 in f64). Each output is a sum of K products; each of the K
// additions rounds by at most u of a partial sum that grows like
// sqrt(k) * |term|, so as a random walk the total error is about
// 0.3 * K * u * |term|. The reference sums in double, so in f32 the
// difference is the kernel's rounding alone and in f64 that of both sides.
// atol = 4 * K * u * scale (scale bounds |term|) covers either many times
// over (measured headroom: >= 4x in f32, >= 8x in f64, on
// tests/engine/conv_cpu_test.cpp's cases), while one wrong or missing term
// (about scale / 4 on average) is far outside it for every K the tests use;
// rtol adds a few ulps of the result itself. dbias sums in double on both
// sides and rounds once: at most an ulp apart, plus the double sums' own
// reordering.
inline double conv_sum_atol(int64_t k, double scale, double u) { return 4.0 * k * u * scale; }

template <class T>
constexpr double unit_roundoff() {
  return sizeof(T) == 4 ? 0x1p-24 : 0x1p-53;
}

template <class T>
std::vector<double> as_doubles(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

// y against the reference forward, with the bias or without it.
template <class T>
void expect_conv_forward(const ConvProblem<T>& p, const std::vector<T>& y, const std::string& what,
                         bool with_bias = true) {
  constexpr double u = unit_roundoff<T>();
  const int64_t k = p.s.c / p.s.groups * p.s.kh * p.s.kw;
  std::vector<T> ref = p.y_ref;
  if (!with_bias)
    kernels::reference::conv2d_forward<T>(p.x.data(), p.w.data(), nullptr, ref.data(), p.s);
  expect_close(as_doubles(y), as_doubles(ref), conv_sum_atol(k, p.sx * p.sw, u), 4 * u,
               what + " y");
}

// Each gradient in g that was computed (not empty) against the reference.
template <class T>
void expect_conv_backward(const ConvProblem<T>& p, const ConvGrads<T>& g, const std::string& what) {
  constexpr double u = unit_roundoff<T>();
  const ConvGrads<T>& ref = p.grads_ref;
  const int64_t k_dx = p.s.o / p.s.groups * p.s.kh * p.s.kw, k_dw = p.s.n * p.s.oh * p.s.ow;
  if (!g.dx.empty())
    expect_close(as_doubles(g.dx), as_doubles(ref.dx), conv_sum_atol(k_dx, p.sy * p.sw, u), 4 * u,
                 what + " dx");
  if (!g.dw.empty())
    expect_close(as_doubles(g.dw), as_doubles(ref.dw), conv_sum_atol(k_dw, p.sy * p.sx, u), 4 * u,
                 what + " dweight");
  if (!g.db.empty())
    expect_close(as_doubles(g.db), as_doubles(ref.db), conv_sum_atol(k_dw, p.sy, 0x1p-53), 2 * u,
                 what + " dbias");
}

}  // namespace danlu::testing
