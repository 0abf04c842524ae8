// Rung 5 (TF32 tensor cores) is what runs when TF32 is allowed, and only
// then: the dispatcher refuses it under allow_tf32 = false and strict FP32
// runs instead; and where it runs, its answer is the convolution of the
// inputs rounded to the nearest TF32 value, not of the FP32 inputs (nor of
// inputs truncated to TF32, what a tensor core does with unrounded
// registers); tensors of 2^31 or more elements go to rung 3. Its parity on
// every shape is in conv_variants_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/conv.h"
#include "kernels/cpu/conv_reference.h"
#include "tests/support/conv_problem.h"
#include "tests/support/conv_shape.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using kernels::Conv2dShape;
using kernels::cuda::ConvPass;
using kernels::cuda::ConvSettings;
using testing::conv;
using testing::DeviceBuffer;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

constexpr ConvPass kPasses[] = {ConvPass::forward, ConvPass::backward_data,
                                ConvPass::backward_weight};

// 6 channels of 9x9, 10 filters of 3x3, padding 1: depths 54, 90 and 162.
Conv2dShape shape() { return conv({2, 6, 9, 9}, {10, 3, 3}, 1, 1); }

// The pass's result on the device under `settings` (dweight without bias).
std::vector<float> run_pass(const testing::ConvProblem<float>& p, ConvPass pass,
                            const ConvSettings& settings) {
  const Conv2dShape& s = p.s;
  DeviceBuffer<float> x(p.x), w(p.w), dy(p.dy);
  if (pass == ConvPass::forward) {
    DeviceBuffer<float> y(testing::y_size(s));
    kernels::cuda::conv2d_forward(x.get(), w.get(), nullptr, y.get(), s, stream(), settings);
    return y.to_host();
  }
  const bool data = pass == ConvPass::backward_data;
  DeviceBuffer<float> out(data ? testing::x_size(s) : testing::w_size(s));
  DeviceBuffer<float> ws(kernels::cuda::conv2d_workspace(s, settings));
  kernels::cuda::conv2d_backward(x.get(), w.get(), dy.get(), data ? out.get() : nullptr,
                                 data ? nullptr : out.get(), nullptr, ws.get(), s, stream(),
                                 settings);
  return out.to_host();
}

// The f64 reference of the pass on x, w and dy (no bias).
std::vector<double> reference(const Conv2dShape& s, ConvPass pass, const std::vector<float>& x,
                              const std::vector<float>& w, const std::vector<float>& dy) {
  namespace ref = kernels::reference;
  const std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()),
      dyd(dy.begin(), dy.end());
  std::vector<double> out;
  if (pass == ConvPass::forward) {
    out.resize(testing::y_size(s));
    ref::conv2d_forward<double>(xd.data(), wd.data(), nullptr, out.data(), s);
  } else if (pass == ConvPass::backward_data) {
    out.resize(testing::x_size(s));
    ref::conv2d_backward_data<double>(wd.data(), dyd.data(), out.data(), s);
  } else {
    out.resize(testing::w_size(s));
    ref::conv2d_backward_weight<double>(xd.data(), dyd.data(), out.data(), nullptr, s);
  }
  return out;
}

int64_t depth(const Conv2dShape& s, ConvPass pass) {
  return pass == ConvPass::forward         ? s.c / s.groups * s.kh * s.kw
         : pass == ConvPass::backward_data ? s.o / s.groups * s.kh * s.kw
                                           : s.n * s.oh * s.ow;
}

// cvt.rna.tf32.f32 on the host: to nearest, ties away from zero, 10 mantissa bits.
float round_to_tf32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits = (bits + 0x1000u) & 0xffffe000u;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
// What a tensor core reads from a register that was not rounded.
float truncate_to_tf32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits &= 0xffffe000u;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
template <class F>
std::vector<float> map(const std::vector<float>& v, F f) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = f(v[i]);
  return out;
}

double max_difference(const std::vector<float>& got, const std::vector<double>& ref) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - ref[i]));
  return worst;
}

TEST(ConvTf32, RefusedWithoutTf32AndStrictFp32RunsInstead) {
  const Conv2dShape s = shape();
  for (ConvPass pass : kPasses) {
    SCOPED_TRACE(kernels::cuda::pass_name(pass));
    std::string note;
    EXPECT_EQ(kernels::cuda::conv2d_choose(s, pass, {5, false}, &note).number, 4);
    EXPECT_EQ(note, std::string("conv variant 5 (TF32 tensor cores) cannot run the ") +
                        kernels::cuda::pass_name(pass) +
                        " pass of this convolution: it needs TF32, which is off (allow_tf32); "
                        "variant 4 (register-blocked implicit GEMM) runs it");
    EXPECT_EQ(kernels::cuda::conv2d_choose(s, pass, {5, true}).number, 5);
  }
  DANLU_REQUIRE_GPU();
  // Forced but refused: the strict FP32 answer, within FP32's tolerance.
  const testing::ConvProblem<float> p(s, 31);
  for (ConvPass pass : kPasses) {
    SCOPED_TRACE(kernels::cuda::pass_name(pass));
    const std::vector<double> exact = reference(s, pass, p.x, p.w, p.dy);
    const std::vector<float> got = run_pass(p, pass, {5, false});
    testing::expect_close(std::vector<double>(got.begin(), got.end()), exact,
                          testing::conv_sum_atol(depth(s, pass), 1.0, 0x1p-24), 0x1p-22,
                          "FP32 fallback");
  }
}

// Its copies address a tensor with 32-bit offsets: 2^31 elements or more go
// to a strict FP32 rung, here rung 4, whose offsets are per image (only the
// choice is made here; nothing is allocated).
TEST(ConvTf32, RefusesTensorsOf2To31Elements) {
  const Conv2dShape big = conv({2, 1024, 1024, 1024}, {8, 1, 1});
  std::string note;
  EXPECT_EQ(kernels::cuda::conv2d_choose(big, ConvPass::forward, {5, true}, &note).number, 4);
  EXPECT_NE(note.find(": a tensor of 2147483648 elements exceeds its 32-bit offsets"),
            std::string::npos)
      << note;
  const Conv2dShape below = conv({1, 1024, 1024, 1024}, {8, 1, 1});
  EXPECT_EQ(kernels::cuda::conv2d_choose(below, ConvPass::forward, {5, true}).number, 5);
}

// The answer matches the reference on the inputs rounded to nearest TF32
// within FP32's accumulation tolerance, and lies outside that tolerance
// from the reference on the FP32 inputs and on the truncated ones: the
// rounding is seen, and it is to nearest.
TEST(ConvTf32, ComputesOnInputsRoundedToNearestTf32) {
  DANLU_REQUIRE_GPU();
  const Conv2dShape s = shape();
  const testing::ConvProblem<float> p(s, 32);
  const auto rounded = [](const std::vector<float>& v) { return map(v, round_to_tf32); };
  const auto truncated = [](const std::vector<float>& v) { return map(v, truncate_to_tf32); };
  for (ConvPass pass : kPasses) {
    SCOPED_TRACE(kernels::cuda::pass_name(pass));
    const double atol = testing::conv_sum_atol(depth(s, pass), 1.0, 0x1p-24);
    const std::vector<float> got = run_pass(p, pass, {5, true});
    const std::vector<double> on_tf32 =
        reference(s, pass, rounded(p.x), rounded(p.w), rounded(p.dy));
    testing::expect_close(std::vector<double>(got.begin(), got.end()), on_tf32, atol, 0x1p-22,
                          "against the TF32-rounded inputs");
    EXPECT_GT(max_difference(got, reference(s, pass, p.x, p.w, p.dy)), 10 * atol);
    EXPECT_GT(max_difference(got, reference(s, pass, truncated(p.x), truncated(p.w),
                                             truncated(p.dy))),
              10 * atol);
  }
}

}  // namespace
}  // namespace danlu
