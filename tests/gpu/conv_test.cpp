// CUDA conv2d as the dispatcher runs it in strict FP32 (the register-blocked
// implicit GEMM of rung 4 in all three directions, the tiled direct kernel
// for few input channels)
// against the plain reference conv
// (kernels/cpu/conv_reference.h): odd sizes that fit no tile, batch 1 and
// 128 at 28 x 28 (split dweight and dbias reductions), long channels (dbias
// on 64 strips per channel), stride 2, padding 0/1/2,
// dilation 2, asymmetric parameters, groups 2, depthwise, 1x1, 5x5 and 7x7
// kernels, 1 and 3 input channels, large magnitudes; repeated runs give the
// same bits; the op on CUDA tensors matches the reference too, in strict
// FP32 and, by default, with TF32 (within the TF32 bound,
// tests/support/conv_tf32.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/conv.h"
#include "tests/support/conv_problem.h"
#include "tests/support/conv_shape.h"
#include "tests/support/conv_tf32.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using kernels::Conv2dShape;
using testing::bitwise_equal;
using testing::conv;
using testing::DeviceBuffer;
using testing::expect_conv_backward;
using testing::expect_conv_forward;
using testing::w_size;
using testing::with_output_size;
using testing::x_size;
using testing::y_size;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

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

using Problem = testing::ConvProblem<float>;
using Grads = testing::ConvGrads<float>;

// The implicit GEMM (rung 3) or the tiled direct kernel (rung 2).
std::vector<float> gpu_forward(const Problem& p, bool direct) {
  DeviceBuffer<float> x(p.x), w(p.w), b(p.b), y(y_size(p.s));
  kernels::cuda::conv2d_forward(x.get(), w.get(), b.get(), y.get(), p.s, stream(),
                                {direct ? 2 : 3, false});
  return y.to_host();
}

bool prefers_direct(const Conv2dShape& s) {
  return kernels::cuda::conv2d_choose(s, kernels::cuda::ConvPass::forward, {}).number == 2;
}

// The dispatcher's strict FP32 choice for each gradient.
Grads gpu_backward(const Problem& p) {
  const kernels::cuda::ConvSettings fp32{0, false};
  DeviceBuffer<float> x(p.x), w(p.w), dy(p.dy), dx(x_size(p.s)), dw(w_size(p.s)), db(p.s.o);
  DeviceBuffer<float> ws(kernels::cuda::conv2d_workspace(p.s, fp32));
  kernels::cuda::conv2d_backward(x.get(), w.get(), dy.get(), dx.get(), dw.get(), db.get(),
                                 ws.get(), p.s, stream(), fp32);
  return {dx.to_host(), dw.to_host(), db.to_host()};
}

TEST(GpuConv, ForwardImplicitGemmMatchesReference) {
  DANLU_REQUIRE_GPU();
  uint64_t seed = 100;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Problem p(c.s, seed += 10);
    expect_conv_forward(p, gpu_forward(p, false), c.name + " forward (implicit GEMM)");
  }
}

TEST(GpuConv, ForwardDirectMatchesReferenceOnSmallChannelCounts) {
  DANLU_REQUIRE_GPU();
  uint64_t seed = 200;
  int direct_cases = 0;
  for (const Case& c : cases()) {
    if (!prefers_direct(c.s)) continue;
    SCOPED_TRACE(c.name);
    ++direct_cases;
    const Problem p(c.s, seed += 10);
    expect_conv_forward(p, gpu_forward(p, true), c.name + " forward (direct)");
  }
  EXPECT_EQ(direct_cases, 5);  // the depthwise and 1- and 3-channel cases
}

TEST(GpuConv, BackwardMatchesReference) {
  DANLU_REQUIRE_GPU();
  uint64_t seed = 300;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Problem p(c.s, seed += 10);
    expect_conv_backward(p, gpu_backward(p), c.name);
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
    expect_conv_forward(p, gpu_forward(p, false), c.name + " forward x1e3, w x1e2");
    if (prefers_direct(c.s))
      expect_conv_forward(p, gpu_forward(p, true), c.name + " direct forward x1e3, w x1e2");
    expect_conv_backward(p, gpu_backward(p), c.name + " x1e3, w x1e2, dy x1e3");
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
    if (prefers_direct(c.s)) {
      EXPECT_TRUE(bitwise_equal(gpu_forward(p, true), gpu_forward(p, true)));
    }
    const Grads a = gpu_backward(p), b = gpu_backward(p);
    EXPECT_TRUE(bitwise_equal(a.dx, b.dx));
    EXPECT_TRUE(bitwise_equal(a.dw, b.dw));
    EXPECT_TRUE(bitwise_equal(a.db, b.db));
  }
}

// Long channels: dbias reduces 16 x 64 x 64 = 65536 values per channel on
// 64 strips of 1024 merged in strip order, dweight on 128 splits; both match
// the reference (dbias to an ulp: double sums on both sides) and repeat bit
// for bit.
TEST(GpuConv, LongChannelsReduceOverManyStrips) {
  DANLU_REQUIRE_GPU();
  const Case c{"3 filters over 16 x 64x64",
               with_output_size(conv({16, 2, 64, 64}, {3, 3, 3}, 1, 1))};
  const Problem p(c.s, 700, 1.f, 1.f, 1e3f);
  const Grads a = gpu_backward(p), b = gpu_backward(p);
  expect_conv_backward(p, a, c.name);
  EXPECT_TRUE(bitwise_equal(a.db, b.db));
  EXPECT_TRUE(bitwise_equal(a.dw, b.dw));
}

// The op on CUDA tensors: forward and every gradient through autograd match
// the reference, for a tiled and a direct-kernel shape; in strict FP32, and
// with TF32 allowed (the default: rung 5 runs every GEMM pass, the direct
// forward stays FP32 and the bias gradient is a plain sum).
TEST(GpuConv, OpOnCudaTensorsMatchesReference) {
  DANLU_REQUIRE_GPU();
  for (bool tf32 : {false, true}) {
    set_conv_allow_tf32(tf32);
    uint64_t seed = 600;
    for (const Case& c :
         {Case{"stride 2 pad 1 (implicit GEMM)", conv({3, 5, 13, 13}, {7, 3, 3}, 2, 1)},
          Case{"3 channels 5x5 (direct)", conv({2, 3, 16, 16}, {8, 5, 5})}}) {
      SCOPED_TRACE(c.name + (tf32 ? ", TF32 allowed" : ", strict FP32"));
      const Conv2dShape& s = c.s;
      const Problem p(s, seed += 10);
      Conv2dParams params;
      params.stride = {s.stride_h, s.stride_w};
      params.padding = {s.pad_h, s.pad_w};
      const auto on_gpu = [](const std::vector<float>& v, const Shape& shape) {
        return Tensor::from_vector(v, shape).to(Device::cuda()).set_requires_grad();
      };
      Tensor x = on_gpu(p.x, {s.n, s.c, s.h, s.w}), w = on_gpu(p.w, {s.o, s.c, s.kh, s.kw});
      Tensor b = on_gpu(p.b, {s.o});
      Tensor y = conv2d(x, w, b, params);
      ASSERT_TRUE(y.device().is_cuda());
      y.backward(Tensor::from_vector(p.dy, y.shape()).to(Device::cuda()));
      const auto host = [](const Tensor& t) {
        const std::vector<double> v = t.to(Device::cpu()).to_vector();
        return std::vector<float>(v.begin(), v.end());
      };
      using kernels::cuda::ConvPass;
      const auto tf32_runs = [&](ConvPass pass) {
        return kernels::cuda::conv2d_choose(s, pass, {0, tf32}).needs_tf32;
      };
      const testing::ConvProblem<double> exact(s, seed);
      if (tf32_runs(ConvPass::forward))
        testing::expect_tf32_pass(exact, ConvPass::forward, host(y), c.name + " y");
      else
        expect_conv_forward(p, host(y), c.name);
      Grads fp32_grads{{}, {}, host(b.grad())};
      if (tf32_runs(ConvPass::backward_data))
        testing::expect_tf32_pass(exact, ConvPass::backward_data, host(x.grad()), c.name + " dx");
      else
        fp32_grads.dx = host(x.grad());
      if (tf32_runs(ConvPass::backward_weight))
        testing::expect_tf32_pass(exact, ConvPass::backward_weight, host(w.grad()),
                                  c.name + " dweight");
      else
        fp32_grads.dw = host(w.grad());
      expect_conv_backward(p, fp32_grads, c.name);
    }
  }
  set_conv_allow_tf32(true);
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
