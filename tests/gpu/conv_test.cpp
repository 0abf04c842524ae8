// CUDA conv2d (implicit GEMM in all three directions, and the direct kernel
// for few input channels) against the CPU reference: odd sizes that fit no
// tile, batch 1 and 128 at 28 x 28 (split dweight reduction), stride 2,
// padding 0/1/2, dilation 2, asymmetric parameters, groups 2, depthwise,
// 1x1, 5x5 and 7x7 kernels, 1 and 3 input channels, large magnitudes;
// repeated runs give the same bits; the op on CUDA tensors matches the op on
// the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/conv.h"
#include "tests/support/conv_shape.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using kernels::Conv2dShape;
using testing::bitwise_equal;
using testing::conv;
using testing::DeviceBuffer;
using testing::expect_close_floats;
using testing::uniform_floats;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

Conv2dShape with_output_size(Conv2dShape s) {
  s.oh = (s.h + 2 * s.pad_h - s.dil_h * (s.kh - 1) - 1) / s.stride_h + 1;
  s.ow = (s.w + 2 * s.pad_w - s.dil_w * (s.kw - 1) - 1) / s.stride_w + 1;
  return s;
}

struct Case {
  std::string name;
  Conv2dShape s;
};

std::vector<Case> cases() {
  Conv2dShape asymmetric = conv({2, 6, 12, 15}, {5, 3, 5});
  asymmetric.stride_h = 2, asymmetric.pad_w = 2, asymmetric.dil_w = 2;
  std::vector<Case> all = {
      {"odd 3x5x13x13 -> 7, 3x3 pad 1", conv({3, 5, 13, 13}, {7, 3, 3}, 1, 1)},
      {"batch 1", conv({1, 6, 11, 11}, {9, 3, 3}, 1, 1)},
      {"batch 128 at 28x28", conv({128, 8, 28, 28}, {16, 3, 3}, 1, 1)},
      {"stride 2 pad 0", conv({2, 6, 15, 15}, {10, 3, 3}, 2, 0)},
      {"5x5 pad 2", conv({2, 5, 13, 13}, {7, 5, 5}, 1, 2)},
      {"dilation 2", conv({2, 5, 17, 17}, {6, 3, 3}, 1, 2, 2)},
      {"asymmetric stride, padding, dilation, 3x5", asymmetric},
      {"groups 2", conv({2, 10, 13, 13}, {14, 3, 3}, 1, 1, 1, 2)},
      {"depthwise", conv({2, 12, 13, 13}, {12, 3, 3}, 1, 1, 1, 12)},
      {"depthwise x2 stride 2", conv({2, 6, 14, 14}, {12, 3, 3}, 2, 1, 1, 6)},
      {"1x1, 70 -> 65 channels", conv({3, 70, 7, 7}, {65, 1, 1})},
      {"kernel covers the input", conv({2, 5, 5, 5}, {3, 5, 5})},
      {"wide: 96 -> 130 channels", conv({2, 96, 9, 9}, {130, 3, 3}, 1, 1)},
      {"first layer: 3 channels, 7x7 stride 2 pad 3", conv({2, 3, 29, 29}, {16, 7, 7}, 2, 3)},
      {"first layer: 1 channel, 5x5 pad 2", conv({4, 1, 28, 28}, {8, 5, 5}, 1, 2)},
      {"3 channels, 3x3, 33 filters", conv({3, 3, 19, 19}, {33, 3, 3}, 1, 1)},
  };
  for (Case& c : all) c.s = with_output_size(c.s);
  return all;
}

int64_t x_size(const Conv2dShape& s) { return s.n * s.c * s.h * s.w; }
int64_t w_size(const Conv2dShape& s) { return s.o * s.c / s.groups * s.kh * s.kw; }
int64_t y_size(const Conv2dShape& s) { return s.n * s.o * s.oh * s.ow; }

// x, weight, bias and dy uniform in [-scale, scale) for scales (sx, sw, 1, sy).
struct Problem {
  Conv2dShape s;
  std::vector<float> x, w, b, dy;
  float sx, sw, sy;
  Problem(const Conv2dShape& shape, uint64_t seed, float x_scale = 1, float w_scale = 1,
          float dy_scale = 1)
      : s(shape), sx(x_scale), sw(w_scale), sy(dy_scale) {
    x = uniform_floats(x_size(s), seed, -sx, sx);
    w = uniform_floats(w_size(s), seed + 1, -sw, sw);
    b = uniform_floats(s.o, seed + 2, -1.f, 1.f);
    dy = uniform_floats(y_size(s), seed + 3, -sy, sy);
  }
};

struct Grads {
  std::vector<float> dx, dw, db;
};

std::vector<float> cpu_forward(const Problem& p) {
  std::vector<float> y(y_size(p.s)), ws(kernels::cpu::conv2d_workspace(p.s));
  kernels::cpu::conv2d_forward<float>(p.x.data(), p.w.data(), p.b.data(), y.data(), ws.data(),
                                      p.s);
  return y;
}

Grads cpu_backward(const Problem& p) {
  Grads g{std::vector<float>(x_size(p.s)), std::vector<float>(w_size(p.s)),
          std::vector<float>(p.s.o)};
  std::vector<float> ws(kernels::cpu::conv2d_workspace(p.s));
  kernels::cpu::conv2d_backward<float>(p.x.data(), p.w.data(), p.dy.data(), g.dx.data(),
                                       g.dw.data(), g.db.data(), ws.data(), p.s);
  return g;
}

std::vector<float> gpu_forward(const Problem& p, bool direct) {
  DeviceBuffer<float> x(p.x), w(p.w), b(p.b), y(y_size(p.s));
  if (direct)
    kernels::cuda::conv2d_forward_direct(x.get(), w.get(), b.get(), y.get(), p.s, stream());
  else
    kernels::cuda::conv2d_forward(x.get(), w.get(), b.get(), y.get(), p.s, stream());
  return y.to_host();
}

Grads gpu_backward(const Problem& p) {
  DeviceBuffer<float> x(p.x), w(p.w), dy(p.dy), dx(x_size(p.s)), dw(w_size(p.s)), db(p.s.o);
  DeviceBuffer<float> ws(kernels::cuda::conv2d_workspace(p.s));
  kernels::cuda::conv2d_backward(x.get(), w.get(), dy.get(), dx.get(), dw.get(), db.get(),
                                 ws.get(), p.s, stream());
  return {dx.to_host(), dw.to_host(), db.to_host()};
}

// Tolerances. Each output is an FP32 sum of K products, added in a
// different order by the CPU (im2col + BLAS) and the GPU (tiles of 8, split
// slices). Each of the K additions rounds by at most u = 2^-24 of a partial
// sum that grows like sqrt(k) * |term|; as a random walk the total error of
// one side is about 0.3 * K * u * |term|. atol = 4 * K * u * scale (scale
// bounds |term|) covers both sides many times over, while one wrong or
// missing term (about scale / 4 on average) is far outside it for every K
// used here; rtol adds a few ulps of the result itself.
constexpr double kU = 0x1p-24;
double sum_atol(int64_t k, double scale) { return 4.0 * k * kU * scale; }
constexpr double kRtol = 4 * kU;
// dbias sums in double on both sides and rounds once to f32: the results
// differ by at most one ulp.
constexpr double kBiasRtol = 2 * kU;

void expect_forward(const Problem& p, const std::vector<float>& out, const std::string& what) {
  const int64_t k = p.s.c / p.s.groups * p.s.kh * p.s.kw;
  expect_close_floats(out, cpu_forward(p), sum_atol(k, p.sx * p.sw), kRtol, what);
}

void expect_backward(const Problem& p, const Grads& g, const std::string& what) {
  const Grads ref = cpu_backward(p);
  const int64_t k_dx = p.s.o / p.s.groups * p.s.kh * p.s.kw, k_dw = p.s.n * p.s.oh * p.s.ow;
  expect_close_floats(g.dx, ref.dx, sum_atol(k_dx, p.sy * p.sw), kRtol, what + " dx");
  expect_close_floats(g.dw, ref.dw, sum_atol(k_dw, p.sy * p.sx), kRtol, what + " dweight");
  expect_close_floats(g.db, ref.db, 1e-12, kBiasRtol, what + " dbias");
}

TEST(GpuConv, ForwardImplicitGemmMatchesCpu) {
  DANLU_REQUIRE_GPU();
  uint64_t seed = 100;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Problem p(c.s, seed += 10);
    expect_forward(p, gpu_forward(p, false), c.name + " forward (implicit GEMM)");
  }
}

TEST(GpuConv, ForwardDirectMatchesCpuOnSmallChannelCounts) {
  DANLU_REQUIRE_GPU();
  uint64_t seed = 200;
  int direct_cases = 0;
  for (const Case& c : cases()) {
    if (!kernels::cuda::conv2d_prefers_direct(c.s)) continue;
    SCOPED_TRACE(c.name);
    ++direct_cases;
    const Problem p(c.s, seed += 10);
    expect_forward(p, gpu_forward(p, true), c.name + " forward (direct)");
  }
  EXPECT_EQ(direct_cases, 5);  // the depthwise and 1- and 3-channel cases
}

TEST(GpuConv, BackwardMatchesCpu) {
  DANLU_REQUIRE_GPU();
  uint64_t seed = 300;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Problem p(c.s, seed += 10);
    expect_backward(p, gpu_backward(p), c.name);
  }
}

// The dweight reduction is split across blocks for a large batch and not for
// a small one; both paths are covered by the cases above.
TEST(GpuConv, WeightGradientSplitsOnlyLargeReductions) {
  const std::vector<Case> all = cases();
  EXPECT_GT(kernels::cuda::conv2d_workspace(all[2].s), 0) << all[2].name;
  EXPECT_EQ(kernels::cuda::conv2d_workspace(all[1].s), 0) << all[1].name;
}

TEST(GpuConv, LargeMagnitudes) {
  DANLU_REQUIRE_GPU();
  for (const Case& c : {cases()[0], cases()[13]}) {
    SCOPED_TRACE(c.name);
    const Problem p(c.s, 400, 1e3f, 1e2f, 1e3f);
    expect_forward(p, gpu_forward(p, false), c.name + " forward x1e3, w x1e2");
    if (kernels::cuda::conv2d_prefers_direct(c.s))
      expect_forward(p, gpu_forward(p, true), c.name + " direct forward x1e3, w x1e2");
    expect_backward(p, gpu_backward(p), c.name + " x1e3, w x1e2, dy x1e3");
  }
}

// A batch of 8 at 28x28 already splits the dweight reduction (and keeps the
// emulated run short); the 1-channel case runs the direct kernel.
TEST(GpuConv, RepeatedRunsGiveIdenticalBits) {
  DANLU_REQUIRE_GPU();
  const Case split{"batch 8 at 28x28", with_output_size(conv({8, 8, 28, 28}, {16, 3, 3}, 1, 1))};
  ASSERT_GT(kernels::cuda::conv2d_workspace(split.s), 0);
  for (const Case& c : {split, cases()[14]}) {
    SCOPED_TRACE(c.name);
    const Problem p(c.s, 500);
    EXPECT_TRUE(bitwise_equal(gpu_forward(p, false), gpu_forward(p, false)));
    if (kernels::cuda::conv2d_prefers_direct(c.s)) {
      EXPECT_TRUE(bitwise_equal(gpu_forward(p, true), gpu_forward(p, true)));
    }
    const Grads a = gpu_backward(p), b = gpu_backward(p);
    EXPECT_TRUE(bitwise_equal(a.dx, b.dx));
    EXPECT_TRUE(bitwise_equal(a.dw, b.dw));
    EXPECT_TRUE(bitwise_equal(a.db, b.db));
  }
}

// The op on CUDA tensors: forward and every gradient through autograd match
// the same op on the CPU, for a tiled and a direct-kernel shape.
TEST(GpuConv, OpOnCudaTensorsMatchesCpu) {
  DANLU_REQUIRE_GPU();
  struct OpCase {
    Shape x, w;
    Conv2dParams p;
  };
  Conv2dParams strided;
  strided.stride = {2, 2};
  strided.padding = {1, 1};
  for (const OpCase& c : {OpCase{{3, 5, 13, 13}, {7, 5, 3, 3}, strided},
                          OpCase{{2, 3, 16, 16}, {8, 3, 5, 5}, Conv2dParams{}}}) {
    SCOPED_TRACE(::testing::Message() << "x " << c.x << " w " << c.w);
    Tensor x = Tensor::randn(c.x).set_requires_grad();
    Tensor w = Tensor::randn(c.w).set_requires_grad();
    Tensor b = Tensor::randn({c.w[0]}).set_requires_grad();
    Tensor xg = x.detach().to(Device::cuda()).set_requires_grad();
    Tensor wg = w.detach().to(Device::cuda()).set_requires_grad();
    Tensor bg = b.detach().to(Device::cuda()).set_requires_grad();
    Tensor y = conv2d(x, w, b, c.p);
    Tensor yg = conv2d(xg, wg, bg, c.p);
    ASSERT_TRUE(yg.device().is_cuda());
    Tensor gy = Tensor::randn(y.shape());
    y.backward(gy);
    yg.backward(gy.to(Device::cuda()));
    // randn inputs: |terms| rarely exceed 16; K <= 5*3*3 forward, 7*3*3
    // for dx and 2*16*16 for dweight.
    testing::expect_close(yg.to(Device::cpu()), y, sum_atol(75, 16), kRtol, "y");
    testing::expect_close(xg.grad().to(Device::cpu()), x.grad(), sum_atol(63, 16), kRtol, "dx");
    testing::expect_close(wg.grad().to(Device::cpu()), w.grad(), sum_atol(512, 16), kRtol, "dw");
    testing::expect_close(bg.grad().to(Device::cpu()), b.grad(), 1e-12, kBiasRtol, "db");
  }
}

TEST(GpuConv, F64OnCudaIsAnError) {
  DANLU_REQUIRE_GPU();
  Tensor x = Tensor::zeros({1, 1, 4, 4}, DType::f64).to(Device::cuda());
  Tensor w = Tensor::zeros({1, 1, 3, 3}, DType::f64).to(Device::cuda());
  try {
    conv2d(x, w);
    FAIL() << "conv2d accepted f64 CUDA tensors";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA ops are f32"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace danlu
