// The CPU's MaxPool2d(2) path (kernels/cpu/pool.cpp, vectorised per
// instruction set) against a plain loop over the windows: rows wider and
// narrower than a vector, an odd width whose last column no window reads,
// ties (the first candidate in row-major order wins) and NaNs (a NaN wins,
// as in PyTorch), in f32 and f64. CTest runs it again on the AVX2 path.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/pool.h"

namespace danlu::kernels {
namespace {

template <class T>
void plain_max_pool2x2(const std::vector<T>& x, std::vector<T>& y, std::vector<int64_t>& idx,
                       int64_t planes, int64_t h, int64_t w) {
  const int64_t oh = h / 2, ow = w / 2;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        int64_t best = 2 * oy * w + 2 * ox;
        for (int64_t at : {best + 1, best + w, best + w + 1}) {
          const T v = x[p * h * w + at], b = x[p * h * w + best];
          if (std::isnan(v) ? !std::isnan(b) : v > b) best = at;
        }
        y[(p * oh + oy) * ow + ox] = x[p * h * w + best];
        idx[(p * oh + oy) * ow + ox] = best;
      }
}

template <class T>
void check(int64_t planes, int64_t h, int64_t w) {
  std::mt19937 rng(static_cast<unsigned>(h * 1000 + w));
  std::uniform_int_distribution<int> small(-3, 3);  // few distinct values: many ties
  std::vector<T> x(planes * h * w);
  for (T& v : x) v = static_cast<T>(small(rng));
  for (size_t i = 7; i < x.size(); i += 37) x[i] = std::numeric_limits<T>::quiet_NaN();
  const int64_t oh = h / 2, ow = w / 2;
  std::vector<T> want(planes * oh * ow), got(want.size());
  std::vector<int64_t> want_idx(want.size());
  std::vector<int32_t> got_idx(want.size());
  plain_max_pool2x2(x, want, want_idx, planes, h, w);
  Pool2dShape s;
  s.planes = planes, s.h = h, s.w = w, s.oh = oh, s.ow = ow, s.kh = s.kw = 2;
  s.stride_h = s.stride_w = 2;
  cpu::max_pool2d_forward<T>(x.data(), got.data(), got_idx.data(), s);
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got_idx[i], want_idx[i]) << h << "x" << w << " output " << i;
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << i;
    else EXPECT_EQ(got[i], want[i]) << i;
  }
}

TEST(MaxPoolCpu, TwoByTwoMatchesThePlainLoop) {
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{
           {2, 2}, {4, 6}, {28, 28}, {14, 14}, {7, 33}, {6, 40}, {5, 66}, {8, 130}}) {
    check<float>(5, h, w);
    check<double>(3, h, w);
  }
}

}  // namespace
}  // namespace danlu::kernels
