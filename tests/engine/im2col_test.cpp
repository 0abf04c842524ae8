// im2col and col2im against their definitions, written out naively here, on
// shapes that take each path: stride 1 with "same" padding (the moved-plane
// copy, with wrapped-around columns to zero), dilation, padding wider than
// the image, strides and valid convolutions (the row-by-row path).
#include <gtest/gtest.h>

#include <vector>

#include "kernels/conv.h"

namespace danlu::kernels {
namespace {

Conv2dShape shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t stride,
                  int64_t pad, int64_t dil) {
  Conv2dShape s;
  s.n = n, s.c = c, s.h = h, s.w = w, s.o = 1, s.kh = k, s.kw = k;
  s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = pad, s.dil_h = s.dil_w = dil;
  s.oh = (h + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  s.ow = (w + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  return s;
}

// cols[(c, i, j), (b, oy, ox)] = x[b, c, oy*stride - pad + i*dil, ox*stride - pad + j*dil] or 0.
std::vector<double> naive_im2col(const std::vector<double>& x, const Conv2dShape& s) {
  std::vector<double> cols(s.col_rows() * s.col_cols(), 0.0);
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t i = 0; i < s.kh; ++i)
      for (int64_t j = 0; j < s.kw; ++j)
        for (int64_t b = 0; b < s.n; ++b)
          for (int64_t oy = 0; oy < s.oh; ++oy)
            for (int64_t ox = 0; ox < s.ow; ++ox) {
              const int64_t iy = oy * s.stride_h - s.pad_h + i * s.dil_h;
              const int64_t ix = ox * s.stride_w - s.pad_w + j * s.dil_w;
              const int64_t row = (c * s.kh + i) * s.kw + j;
              const int64_t col = (b * s.oh + oy) * s.ow + ox;
              if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w)
                cols[row * s.col_cols() + col] = x[((b * s.c + c) * s.h + iy) * s.w + ix];
            }
  return cols;
}

std::vector<double> counting(int64_t size, double first) {
  std::vector<double> v(size);
  for (int64_t i = 0; i < size; ++i) v[i] = first + i;  // every value distinct and nonzero
  return v;
}

class Im2col : public ::testing::TestWithParam<Conv2dShape> {};

TEST_P(Im2col, MatchesTheDefinition) {
  const Conv2dShape s = GetParam();
  const std::vector<double> x = counting(s.n * s.c * s.h * s.w, 1.0);
  std::vector<double> cols(s.col_rows() * s.col_cols(), -7.0);  // stale values must go
  cpu::im2col(x.data(), cols.data(), s);
  EXPECT_EQ(cols, naive_im2col(x, s));
}

// col2im is im2col's adjoint: <im2col(x), y> == <x, col2im(y)> exactly for
// integer-valued data.
TEST_P(Im2col, Col2imIsTheAdjoint) {
  const Conv2dShape s = GetParam();
  const std::vector<double> x = counting(s.n * s.c * s.h * s.w, 1.0);
  const std::vector<double> y = counting(s.col_rows() * s.col_cols(), 3.0);
  std::vector<double> dx(x.size(), -7.0);
  cpu::col2im(y.data(), dx.data(), s);
  const std::vector<double> cols = naive_im2col(x, s);
  double lhs = 0, rhs = 0;
  for (size_t i = 0; i < cols.size(); ++i) lhs += cols[i] * y[i];
  for (size_t i = 0; i < x.size(); ++i) rhs += x[i] * dx[i];
  EXPECT_EQ(lhs, rhs);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Im2col,
                         ::testing::Values(shape(2, 3, 5, 6, 3, 1, 1, 1),   // same: 3x3 pad 1
                                           shape(1, 2, 7, 4, 5, 1, 2, 1),   // same: 5x5 pad 2
                                           shape(2, 1, 6, 6, 3, 1, 2, 2),   // same: dilated
                                           shape(1, 2, 1, 1, 3, 1, 1, 1),   // same: 1x1 image
                                           shape(1, 1, 3, 2, 5, 1, 2, 1),   // same: taps past the edge
                                           shape(2, 2, 4, 5, 1, 1, 0, 1),   // 1x1 conv
                                           shape(2, 2, 6, 7, 3, 2, 1, 1),   // stride 2
                                           shape(1, 3, 5, 5, 3, 1, 0, 1),   // valid
                                           shape(1, 1, 4, 4, 3, 1, 3, 1)),  // wider than the image
                         [](const ::testing::TestParamInfo<Conv2dShape>& info) {
                           return "shape" + std::to_string(info.index);
                         });

}  // namespace
}  // namespace danlu::kernels
