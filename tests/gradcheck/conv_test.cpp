// conv2d: finite-difference gradients of input, weight and bias over strides,
// padding, dilation, groups and non-square kernels, and of a batch split
// into chunks across threads; forward values against the plain reference
// conv and hand-computed cases; f32 vs f64; the shape errors. The CPU
// kernel's paths are tested against the reference in
// tests/engine/conv_cpu_test.cpp.
#include <gtest/gtest.h>
#include <omp.h>

#include "danlu.h"
#include "kernels/cpu/conv_reference.h"
#include "tests/support/expect_close.h"
#include "tests/support/gradcheck.h"
#include "tests/support/omp_threads.h"

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

// conv2d's forward by the plain reference conv (kernels/cpu/conv_reference.h), in f64.
std::vector<double> reference_conv(const Tensor& x, const Tensor& w, const Tensor& b,
                                   const Conv2dParams& p, const Shape& out) {
  kernels::Conv2dShape s;
  s.n = x.size(0), s.c = x.size(1), s.h = x.size(2), s.w = x.size(3);
  s.o = w.size(0), s.kh = w.size(2), s.kw = w.size(3), s.oh = out[2], s.ow = out[3];
  s.stride_h = p.stride[0], s.stride_w = p.stride[1];
  s.pad_h = p.padding[0], s.pad_w = p.padding[1];
  s.dil_h = p.dilation[0], s.dil_w = p.dilation[1];
  s.groups = p.groups;
  const std::vector<double> xv = x.to_vector(), wv = w.to_vector();
  const std::vector<double> bv = b.defined() ? b.to_vector() : std::vector<double>();
  std::vector<double> y(out.numel());
  kernels::reference::conv2d_forward<double>(xv.data(), wv.data(),
                                             b.defined() ? bv.data() : nullptr, y.data(), s);
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

using testing::OmpThreads;

TEST(GradcheckConv, ChunkParallelBatch) {
  // Five images on two threads: each thread takes whole images and sums its
  // own weight gradient.
  OmpThreads threads(2);
  Tensor x = random_input({5, 2, 4, 5}, 25), w = random_input({3, 2, 2, 3}, 26);
  Tensor b = random_input({3}, 27);
  const Conv2dParams p = params({1, 1}, {1, 1}, {1, 1}, 1);
  EXPECT_TRUE(gradcheck([p](const Inputs& t) { return conv2d(t[0], t[1], t[2], p); }, {x, w, b}));
}

TEST(Conv, ForwardMatchesReference) {
  uint64_t seed = 100;
  for (const Case& c : cases()) {
    SCOPED_TRACE(::testing::Message() << "x " << c.x << " w " << c.w);
    Tensor x = random_input(c.x, seed++, -1, 1, false), w = random_input(c.w, seed++, -1, 1, false);
    Tensor b = c.bias ? random_input({c.w[0]}, seed++, -1, 1, false) : Tensor();
    Tensor y = conv2d(x, w, b, c.p);
    // Sums of a few dozen products of O(1) values: f64 rounding only.
    expect_close(y.to_vector(), reference_conv(x, w, b, c.p, y.shape()), 1e-12, 1e-12, "conv2d");
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
