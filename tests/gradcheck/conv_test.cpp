// conv2d: finite-difference gradients of input, weight and bias over strides,
// padding, dilation, groups and non-square kernels; forward values against a
// direct loop and hand-computed cases; batches split into chunks under
// several thread counts; f32 vs f64; the shape errors.
#include <gtest/gtest.h>
#include <omp.h>

#include "danlu.h"
#include "tests/support/expect_close.h"
#include "tests/support/gradcheck.h"

namespace danlu {
namespace {

using testing::expect_close;
using testing::gradcheck;
using testing::random_input;
using Inputs = std::vector<Tensor>;

Conv2dParams params(std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                    std::array<int64_t, 2> dilation, int64_t groups) {
  Conv2dParams p;
  p.stride = stride;
  p.padding = padding;
  p.dilation = dilation;
  p.groups = groups;
  return p;
}

// The definition of conv2d as seven nested loops, in f64.
std::vector<double> direct_conv(const Tensor& x, const Tensor& w, const Tensor& b,
                                const Conv2dParams& p, const Shape& out) {
  const std::vector<double> xv = x.to_vector(), wv = w.to_vector();
  const std::vector<double> bv = b.defined() ? b.to_vector() : std::vector<double>();
  const int64_t C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t O = w.size(0), Cg = w.size(1), KH = w.size(2), KW = w.size(3);
  const int64_t Og = O / p.groups;
  std::vector<double> y(out.numel());
  for (int64_t n = 0; n < out[0]; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oy = 0; oy < out[2]; ++oy)
        for (int64_t ox = 0; ox < out[3]; ++ox) {
          double acc = bv.empty() ? 0.0 : bv[o];
          for (int64_t cg = 0; cg < Cg; ++cg)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                const int64_t iy = oy * p.stride[0] - p.padding[0] + i * p.dilation[0];
                const int64_t ix = ox * p.stride[1] - p.padding[1] + j * p.dilation[1];
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                const int64_t c = (o / Og) * Cg + cg;
                acc += xv[((n * C + c) * H + iy) * W + ix] * wv[((o * Cg + cg) * KH + i) * KW + j];
              }
          y[((n * O + o) * out[2] + oy) * out[3] + ox] = acc;
        }
  return y;
}

struct Case {
  Shape x, w;
  Conv2dParams p;
  bool bias;
};

std::vector<Case> cases() {
  return {
      {{2, 3, 5, 6}, {4, 3, 3, 2}, params({1, 1}, {0, 0}, {1, 1}, 1), true},   // non-square kernel
      {{2, 2, 7, 6}, {3, 2, 3, 3}, params({2, 3}, {1, 2}, {1, 1}, 1), true},   // stride, padding
      {{1, 2, 7, 8}, {2, 2, 2, 3}, params({1, 2}, {2, 1}, {2, 3}, 1), false},  // dilation, batch 1
      {{2, 4, 5, 5}, {6, 2, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, 2), true},   // groups
      {{2, 3, 5, 4}, {3, 1, 3, 3}, params({2, 1}, {1, 1}, {1, 1}, 3), true},   // depthwise
      {{1, 3, 4, 5}, {2, 3, 1, 1}, params({1, 1}, {0, 0}, {1, 1}, 1), false},  // 1x1
  };
}

TEST(GradcheckConv, AllInputsOverParameterCases) {
  uint64_t seed = 1;
  for (const Case& c : cases()) {
    SCOPED_TRACE(::testing::Message() << "x " << c.x << " w " << c.w << " groups " << c.p.groups);
    Tensor x = random_input(c.x, seed++), w = random_input(c.w, seed++);
    Tensor b = c.bias ? random_input({c.w[0]}, seed++) : Tensor();
    const Conv2dParams p = c.p;
    EXPECT_TRUE(gradcheck([p](const Inputs& t) { return conv2d(t[0], t[1], t[2], p); }, {x, w, b}));
  }
}

TEST(GradcheckConv, FirstLayerInputNeedsNoGradient) {
  Tensor x = random_input({2, 1, 6, 6}, 20, -1.0, 1.0, /*requires_grad=*/false);
  Tensor w = random_input({3, 1, 3, 3}, 21), b = random_input({3}, 22);
  const Conv2dParams p = params({1, 1}, {1, 1}, {1, 1}, 1);
  EXPECT_TRUE(gradcheck([p](const Inputs& t) { return conv2d(t[0], t[1], t[2], p); }, {x, w, b}));
  EXPECT_FALSE(x.grad().defined());
  // Frozen weight: only the input's gradient flows.
  Tensor x2 = random_input({1, 2, 5, 5}, 23);
  Tensor w2 = random_input({2, 2, 3, 3}, 24, -1.0, 1.0, false);
  EXPECT_TRUE(
      gradcheck([p](const Inputs& t) { return conv2d(t[0], t[1], Tensor(), p); }, {x2, w2}));
  EXPECT_FALSE(w2.grad().defined());
}

// Sets the OpenMP thread count for a scope (the CPU kernel picks its
// chunk-parallel or sequential plan from it).
class OmpThreads {
 public:
  explicit OmpThreads(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

TEST(GradcheckConv, ChunkParallelBatch) {
  // Five images on two threads: each thread takes whole images and sums its
  // own weight gradient.
  OmpThreads threads(2);
  Tensor x = random_input({5, 2, 4, 5}, 25), w = random_input({3, 2, 2, 3}, 26);
  Tensor b = random_input({3}, 27);
  const Conv2dParams p = params({1, 1}, {1, 1}, {1, 1}, 1);
  EXPECT_TRUE(gradcheck([p](const Inputs& t) { return conv2d(t[0], t[1], t[2], p); }, {x, w, b}));
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST(Conv, ChunkedBatchesUnderThreadCounts) {
  // 7 images of 32 channels at 33x33 are lowered a few images at a time
  // (including a one-image chunk): one after another on one thread, chunk
  // per thread on two or three. Too large for finite differences, so the
  // backward is checked by adjointness: conv is linear in x and in w, so
  // <y - b, r> = <x, dx> = <w, dw> for the gradients dx, dw of <y, r>.
  Tensor x = random_input({7, 32, 33, 33}, 40), w = random_input({4, 16, 3, 3}, 41);
  Tensor b = random_input({4}, 42);
  const Conv2dParams p = params({1, 1}, {0, 0}, {1, 1}, 2);
  const Shape out{7, 4, 31, 31};
  const std::vector<double> ref = direct_conv(x, w, b, p, out);
  Tensor r = random_input(out, 43, -1, 1, false);
  const std::vector<double> rv = r.to_vector();
  std::vector<double> db_ref(4, 0.0);
  for (size_t i = 0; i < rv.size(); ++i) db_ref[(i / (31 * 31)) % 4] += rv[i];
  std::vector<std::vector<double>> first;
  for (int n : {1, 2, 3}) {
    SCOPED_TRACE(::testing::Message() << n << " threads");
    OmpThreads threads(n);
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
    Tensor y = conv2d(x, w, b, p);
    // 144-term sums of products in [-1, 1]: f64 rounding only.
    expect_close(y.to_vector(), ref, 1e-12, 1e-12, "forward");
    y.backward(r);
    const double yr = dot(y.to_vector(), rv) - dot(b.to_vector(), db_ref);
    const std::vector<double> dx = x.grad().to_vector(), dw = w.grad().to_vector();
    const std::vector<double> db = b.grad().to_vector();
    // ~1e6-term inner products of O(1) values: relative rounding ~1e-13.
    EXPECT_NEAR(dot(x.to_vector(), dx), yr, 1e-9 * std::abs(yr) + 1e-9);
    EXPECT_NEAR(dot(w.to_vector(), dw), yr, 1e-9 * std::abs(yr) + 1e-9);
    expect_close(db, db_ref, 1e-10, 1e-12, "dbias");
    if (first.empty()) {
      first = {dx, dw, db};
    } else {  // the same gradients whatever the split, up to summation order
      expect_close(dx, first[0], 1e-12, 1e-12, "dx vs 1 thread");
      expect_close(dw, first[1], 1e-10, 1e-12, "dw vs 1 thread");
      expect_close(db, first[2], 1e-10, 1e-12, "db vs 1 thread");
    }
  }
}

TEST(Conv, ForwardMatchesDirectLoops) {
  uint64_t seed = 100;
  for (const Case& c : cases()) {
    SCOPED_TRACE(::testing::Message() << "x " << c.x << " w " << c.w);
    Tensor x = random_input(c.x, seed++, -1, 1, false), w = random_input(c.w, seed++, -1, 1, false);
    Tensor b = c.bias ? random_input({c.w[0]}, seed++, -1, 1, false) : Tensor();
    Tensor y = conv2d(x, w, b, c.p);
    // Sums of a few dozen products of O(1) values: f64 rounding only.
    expect_close(y.to_vector(), direct_conv(x, w, b, c.p, y.shape()), 1e-12, 1e-12, "conv2d");
  }
}

TEST(Conv, HandComputedValues) {
  // x = 1..9 as 3x3, 2x2 kernel of ones: window sums [[12, 16], [24, 28]].
  Tensor x =
      Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, DType::f64);
  Tensor ones = Tensor::ones({1, 1, 2, 2}, DType::f64);
  expect_close(conv2d(x, ones).to_vector(), {12, 16, 24, 28}, 0, 0, "valid");
  // Padding 1, stride 2, bias 10: windows start at rows/columns -1 and 1, so they
  // sum {1}, {2, 3}, {4, 7}, {5, 6, 8, 9}.
  Tensor bias = Tensor::from_vector(std::vector<double>{10}, {1}, DType::f64);
  Tensor y = conv2d(x, ones, bias, params({2, 2}, {1, 1}, {1, 1}, 1));
  EXPECT_EQ(y.shape(), Shape({1, 1, 2, 2}));
  expect_close(y.to_vector(), {11, 15, 21, 38}, 0, 0, "padded strided");
  // Dilation 2 on the 3x3 input: only the four corners, 1 + 3 + 7 + 9.
  expect_close(conv2d(x, ones, Tensor(), params({1, 1}, {0, 0}, {2, 2}, 1)).to_vector(), {20}, 0, 0,
               "dilated");
}

TEST(Conv, FloatMatchesDouble) {
  Tensor x = random_input({5, 8, 11, 9}, 30, -1, 1, false);
  Tensor w = random_input({6, 4, 3, 3}, 31, -1, 1, false), b = random_input({6}, 32, -1, 1, false);
  const Conv2dParams p = params({1, 2}, {1, 1}, {1, 1}, 2);
  Tensor y64 = conv2d(x, w, b, p);
  Tensor y32 = conv2d(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32), p);
  EXPECT_EQ(y32.dtype(), DType::f32);
  // 37 products of values in [-1, 1]: f32 rounding ~ sqrt(37) * 6e-8 * |terms|.
  expect_close(y32.to_vector(), y64.to_vector(), 1e-5, 1e-5, "conv2d f32 vs f64");
}

TEST(Conv, ShapeErrors) {
  try {
    conv2d(Tensor::zeros({2, 3, 5, 5}), Tensor::zeros({4, 2, 3, 3}));
    FAIL() << "conv2d accepted a channel mismatch";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv2d: input (2, 3, 5, 5) has 3 channels but weight "
                                         "(4, 2, 3, 3) with groups=1 expects 2"),
              std::string::npos)
        << e.what();
  }
  const Tensor x = Tensor::zeros({2, 4, 5, 5}), w = Tensor::zeros({6, 2, 3, 3});
  EXPECT_THROW(conv2d(x, Tensor::zeros({5, 2, 3, 3}), Tensor(), params({1, 1}, {0, 0}, {1, 1}, 2)),
               Error);  // groups does not divide O
  EXPECT_THROW(conv2d(x, w, Tensor::zeros({5}), params({1, 1}, {0, 0}, {1, 1}, 2)), Error);
  EXPECT_THROW(conv2d(x, Tensor::zeros({6, 4, 7, 3})), Error);  // kernel larger than input
  EXPECT_THROW(conv2d(x, Tensor::zeros({6, 4, 3, 3}), Tensor(), params({0, 1}, {0, 0}, {1, 1}, 1)),
               Error);
  EXPECT_THROW(conv2d(x, Tensor::zeros({6, 4, 3, 3}), Tensor(), params({1, 1}, {-1, 0}, {1, 1}, 1)),
               Error);
  EXPECT_THROW(conv2d(x, Tensor::zeros({6, 4, 3, 3}), Tensor(), params({1, 1}, {0, 0}, {0, 1}, 1)),
               Error);
  EXPECT_THROW(conv2d(Tensor::zeros({4, 5, 5}), Tensor::zeros({6, 4, 3, 3})), Error);
  EXPECT_THROW(conv2d(x, Tensor::zeros({6, 4, 3, 3}, DType::f64)), Error);
}

}  // namespace
}  // namespace danlu
