// Every rung of the convolution ladder (kernels/cuda/conv/), forced, against
// the plain reference conv in double: odd sizes that fit no tile, batch 1
// and a batch of 128 that is small otherwise, stride, padding, dilation and
// groups, several 16x16 tiles with ragged edges, a filter row and an output
// plane whose lengths are multiples of 4 (rung 5's 16-byte copies) and more
// than 64 output channels; each variant on every pass and shape it accepts,
// with the number it accepts pinned so that a variant cannot pass by
// refusing. Variants that need TF32 are held to the TF32 error bound
// (tests/support/conv_tf32.h), the others to FP32's. Also the dispatcher: its automatic choice, the
// fallback of a forced variant with its note, and the forcing switch of the
// op.
#include <gtest/gtest.h>

#include <optional>
#include <cmath>
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
using kernels::cuda::ConvPass;
using kernels::cuda::ConvSettings;
using kernels::cuda::ConvVariant;
using testing::conv;
using testing::DeviceBuffer;
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
      {"batch 128, 2 channels at 6x6", conv({128, 2, 6, 6}, {3, 3, 3}, 1, 1)},
      {"stride 2 pad 0", conv({2, 6, 15, 15}, {10, 3, 3}, 2, 0)},
      {"dilation 2", conv({2, 5, 17, 17}, {6, 3, 3}, 1, 2, 2)},
      {"asymmetric stride, padding, dilation, 3x5", asymmetric},
      {"groups 2", conv({2, 10, 13, 13}, {14, 3, 3}, 1, 1, 1, 2)},
      {"depthwise x2 stride 2", conv({2, 6, 14, 14}, {12, 3, 3}, 2, 1, 1, 6)},
      {"1x1, 70 -> 19 channels", conv({2, 70, 7, 7}, {19, 1, 1})},
      {"1 channel 5x5 pad 2", conv({2, 1, 20, 20}, {8, 5, 5}, 1, 2)},
      {"ragged 16x16 tiles: 37x35", conv({1, 2, 37, 35}, {3, 3, 3}, 1, 1)},
      {"3 channels, 7x7 stride 2 pad 3", conv({2, 3, 29, 29}, {10, 7, 7}, 2, 3)},
      {"wide patch: 7x7 stride 4 dilation 3", conv({1, 2, 90, 90}, {3, 7, 7}, 4, 3, 3)},
      {"8 -> 72 channels, 10x10 planes", conv({2, 8, 10, 10}, {72, 3, 3}, 1, 1)},
  };
  for (Case& c : all) c.s = with_output_size(c.s);
  return all;
}

using Problem = testing::ConvProblem<float>;
using Grads = testing::ConvGrads<float>;

// The pass run by `settings`, which the caller has checked choose the
// variant it means; the other gradients stay empty.
std::vector<float> run_pass(const Problem& p, ConvPass pass, const ConvSettings& settings) {
  const Conv2dShape& s = p.s;
  DeviceBuffer<float> x(p.x), w(p.w), b(p.b), dy(p.dy);
  if (pass == ConvPass::forward) {
    DeviceBuffer<float> y(y_size(s));
    kernels::cuda::conv2d_forward(x.get(), w.get(), b.get(), y.get(), s, stream(), settings);
    return y.to_host();
  }
  // NaN where the pass writes nothing: every element must be overwritten.
  DeviceBuffer<float> out(std::vector<float>(
      pass == ConvPass::backward_data ? x_size(s) : w_size(s), std::nanf("")));
  DeviceBuffer<float> ws(kernels::cuda::conv2d_workspace(s, settings));
  kernels::cuda::conv2d_backward(x.get(), w.get(), dy.get(),
                                 pass == ConvPass::backward_data ? out.get() : nullptr,
                                 pass == ConvPass::backward_weight ? out.get() : nullptr, nullptr,
                                 ws.get(), s, stream(), settings);
  return out.to_host();
}

void expect_pass(const Problem& p, ConvPass pass, const std::vector<float>& got,
                 const std::string& what) {
  if (pass == ConvPass::forward) return testing::expect_conv_forward(p, got, what);
  Grads g;
  (pass == ConvPass::backward_data ? g.dx : g.dw) = got;
  testing::expect_conv_backward(p, g, what);
}

constexpr ConvPass kPasses[] = {ConvPass::forward, ConvPass::backward_data,
                                ConvPass::backward_weight};

// Variant v forced on every case and pass it accepts, against the reference
// (in double, for the TF32 bound); returns how many (case, pass) pairs it
// ran.
int check_variant(const ConvVariant& v, const std::vector<Case>& shapes = cases()) {
  int ran = 0;
  uint64_t seed = 1000 * v.number;
  for (const Case& c : shapes) {
    const Problem p(c.s, seed += 10);
    std::optional<testing::ConvProblem<double>> exact;
    if (v.needs_tf32) exact.emplace(c.s, seed);
    for (ConvPass pass : kPasses) {
      if (!v.refusal(c.s, pass, v.needs_tf32).empty()) continue;
      const ConvSettings forced{v.number, v.needs_tf32};
      const std::string what = std::string(v.name) + " " + kernels::cuda::pass_name(pass) +
                               ", " + c.name;
      SCOPED_TRACE(what);
      EXPECT_EQ(kernels::cuda::conv2d_choose(c.s, pass, forced).number, v.number);
      const std::vector<float> got = run_pass(p, pass, forced);
      if (exact)
        testing::expect_tf32_pass(*exact, pass, got, what);
      else
        expect_pass(p, pass, got, what);
      ++ran;
    }
  }
  return ran;
}

const ConvVariant& rung(int number) {
  const ConvVariant* v = kernels::cuda::conv2d_variant(number);
  EXPECT_NE(v, nullptr) << "no rung " << number;
  return *v;
}

// Rung numbers rise through the table and each is found by its number.
TEST(ConvLadder, TableIsInRungOrder) {
  const auto& all = kernels::cuda::conv2d_variants();
  ASSERT_EQ(all.size(), size_t(kernels::cuda::kConvVariants));
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(all[i - 1].number, all[i].number);
    }
    EXPECT_EQ(all[i].number, kernels::cuda::kConvRungs[i]);
    EXPECT_EQ(kernels::cuda::conv2d_variant(all[i].number), &all[i]);
    EXPECT_NE(std::string(all[i].name), "");
    EXPECT_NE(all[i].unsupported, nullptr);
  }
  EXPECT_EQ(kernels::cuda::conv2d_variant(0), nullptr);
  EXPECT_EQ(kernels::cuda::conv2d_variant_numbers(), "1, 2, 3, 4, 5");
}

// 14 shapes x 3 passes; rung 1 runs everything.
TEST(ConvLadder, Rung1NaiveDirectMatchesReference) {
  DANLU_REQUIRE_GPU();
  EXPECT_EQ(check_variant(rung(1)), 42);
}

// The forward only, on every shape but the one whose patch exceeds its buffer.
TEST(ConvLadder, Rung2TiledDirectMatchesReference) {
  DANLU_REQUIRE_GPU();
  EXPECT_EQ(check_variant(rung(2)), 13);
}

TEST(ConvLadder, Rung3ImplicitGemmMatchesReference) {
  DANLU_REQUIRE_GPU();
  EXPECT_EQ(check_variant(rung(3)), 42);
}

// Rung 4 picks its tile width from the channels, so beyond the common
// shapes (16-wide forward and backward-data tiles, 32-wide backward-weight,
// and 128-wide backward-data for 70 channels) these reach each remaining
// width: forward and backward-weight 64 (50 output channels) and 128 (72),
// backward-data 32 (24 input channels) and 64 (40); stride 3 with a
// 2-dilated 1x1-to-3x3 mix of stride phases that no tap reaches (they must
// come out zero); groups with 20 channels each.
std::vector<Case> wide_cases() {
  Conv2dShape phases = conv({2, 18, 11, 10}, {33, 3, 3}, 3, 2, 2);
  std::vector<Case> all = {
      {"24 -> 50 channels, 3x3 pad 1", conv({2, 24, 9, 7}, {50, 3, 3}, 1, 1)},
      {"40 -> 72 channels, 3x3 stride 2 pad 1", conv({2, 40, 9, 9}, {72, 3, 3}, 2, 1)},
      {"18 -> 33, stride 3, dilation 2, pad 2", phases},
      {"1x1 stride 2, 17 -> 20", conv({1, 17, 9, 9}, {20, 1, 1}, 2, 0)},
      {"2 groups of 20 -> 36, 5x5 stride 2 pad 2", conv({1, 40, 10, 11}, {72, 5, 5}, 2, 2, 1, 2)},
  };
  for (Case& c : all) c.s = with_output_size(c.s);
  return all;
}

// Every shape and pass: rung 4 runs groups, dilation and every stride.
TEST(ConvLadder, Rung4RegisterBlockedMatchesReference) {
  DANLU_REQUIRE_GPU();
  EXPECT_EQ(check_variant(rung(4)), 42);
  EXPECT_EQ(check_variant(rung(4), wide_cases()), 15);
}

// Every pass of every shape, within the TF32 bound.
TEST(ConvLadder, Rung5Tf32TensorCoresMatchesReference) {
  DANLU_REQUIRE_GPU();
  EXPECT_EQ(check_variant(rung(5)), 42);
}

// Same inputs, same bits, for the rungs that are new: on a grouped shape,
// and on the batch of 128 whose backward-weight adds split partial sums.
TEST(ConvLadder, RepeatedRunsGiveIdenticalBits) {
  DANLU_REQUIRE_GPU();
  for (int which : {2, 6}) {
    const Problem p(cases()[which].s, 77);
    for (int v : {1, 2, 4, 5}) {
      for (ConvPass pass : kPasses) {
        const ConvSettings forced{v, v == 5};
        if (kernels::cuda::conv2d_choose(p.s, pass, forced).number != v) continue;
        SCOPED_TRACE(std::to_string(v) + " " + kernels::cuda::pass_name(pass) + ", " +
                     cases()[which].name);
        EXPECT_TRUE(testing::bitwise_equal(run_pass(p, pass, forced), run_pass(p, pass, forced)));
      }
    }
  }
}

// Few input channels per group: the tiled direct forward; otherwise, and
// for every backward pass, the TF32 tensor cores where TF32 is allowed (the
// default) and the register-blocked implicit GEMM where it is not.
TEST(ConvDispatcher, AutomaticChoice) {
  for (bool tf32 : {true, false}) {
    SCOPED_TRACE(tf32 ? "TF32 allowed" : "strict FP32");
    const int gemm = tf32 ? 5 : 4;
    const auto chosen = [tf32](const Conv2dShape& s, ConvPass p) {
      return kernels::cuda::conv2d_choose(s, p, {0, tf32}).number;
    };
    const std::vector<Case> all = cases();
    EXPECT_EQ(chosen(all[9].s, ConvPass::forward), 2);   // 1 channel
    EXPECT_EQ(chosen(all[7].s, ConvPass::forward), 2);   // depthwise
    EXPECT_EQ(chosen(all[11].s, ConvPass::forward), 2);  // 3 channels
    EXPECT_EQ(chosen(all[0].s, ConvPass::forward), gemm);  // 5 channels
    // The edge: 4 input channels per group (8 in 2 groups) still run direct.
    EXPECT_EQ(
        chosen(with_output_size(conv({1, 8, 9, 9}, {6, 3, 3}, 1, 1, 1, 2)), ConvPass::forward), 2);
    EXPECT_EQ(chosen(all[9].s, ConvPass::backward_data), gemm);
    EXPECT_EQ(chosen(all[9].s, ConvPass::backward_weight), gemm);
    // Rung 2's patch does not fit: the GEMM runs the 2-channel forward.
    EXPECT_EQ(chosen(all[12].s, ConvPass::forward), gemm);
  }
  EXPECT_EQ(kernels::cuda::conv2d_choose(cases()[0].s, ConvPass::forward, {}).number, 5);
}

TEST(ConvDispatcher, ForcedVariantFallsBackWithANote) {
  const Conv2dShape s = cases()[0].s;
  std::string note;
  EXPECT_EQ(kernels::cuda::conv2d_choose(s, ConvPass::backward_data, {2, false}, &note).number, 4);
  EXPECT_EQ(note,
            "conv variant 2 (tiled direct) cannot run the backward-data pass of this convolution: "
            "it has no backward-data pass; variant 4 (register-blocked implicit GEMM) runs it");
  note.clear();
  EXPECT_EQ(kernels::cuda::conv2d_choose(cases()[12].s, ConvPass::forward, {2, true}, &note).number,
            5);
  EXPECT_NE(note.find("its input patch (79 x 79"), std::string::npos) << note;
  note.clear();
  EXPECT_EQ(kernels::cuda::conv2d_choose(s, ConvPass::forward, {1, true}, &note).number, 1);
  EXPECT_EQ(note, "");
  EXPECT_THROW(kernels::cuda::conv2d_choose(s, ConvPass::forward, {9, true}), Error);
}

// Rung 4 keeps offsets within an image in 32 bits: a larger image falls
// back to rung 3, whose offsets are 64-bit.
TEST(ConvDispatcher, Rung4RefusesImagesPastItsOffsets) {
  const Conv2dShape big = with_output_size(conv({1, 65536, 256, 256}, {16, 1, 1}));
  for (ConvPass pass : kPasses) {
    std::string note;
    EXPECT_EQ(kernels::cuda::conv2d_choose(big, pass, {4, false}, &note).number, 3);
    EXPECT_NE(note.find("exceeds its 32-bit offsets; variant 3 (implicit GEMM) runs it"),
              std::string::npos)
        << note;
  }
  EXPECT_EQ(kernels::cuda::conv2d_choose(cases()[0].s, ConvPass::forward, {4, false}).number, 4);
}

// The op's switch: a bad number is refused in one line; a forced rung runs
// through autograd and says once where it falls back.
TEST(ConvDispatcher, OpForcesAVariant) {
  try {
    set_conv_variant(9);
    FAIL() << "set_conv_variant accepted a rung that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "conv variant 9: expected 0 (automatic) or a rung of 1, 2, 3, 4, 5 "
              "(kernels/cuda/conv/)");
  }
  EXPECT_EQ(conv_variant(), 0);
  DANLU_REQUIRE_GPU();
  // Strict FP32, so that the fallbacks are rung 4 and the FP32 tolerance holds.
  set_conv_allow_tf32(false);
  const Conv2dShape s = cases()[3].s;
  const Problem p(s, 900);
  Conv2dParams params;
  params.stride = {s.stride_h, s.stride_w};
  const auto on_gpu = [](const std::vector<float>& v, const Shape& shape) {
    return Tensor::from_vector(v, shape).to(Device::cuda()).set_requires_grad();
  };
  const auto host = [](const Tensor& t) {
    const std::vector<double> v = t.to(Device::cpu()).to_vector();
    return std::vector<float>(v.begin(), v.end());
  };
  for (int forced : {1, 2}) {
    set_conv_variant(forced);
    ::testing::internal::CaptureStderr();
    Tensor x = on_gpu(p.x, {s.n, s.c, s.h, s.w}), w = on_gpu(p.w, {s.o, s.c, s.kh, s.kw});
    Tensor b = on_gpu(p.b, {s.o});
    for (int step = 0; step < 2; ++step) {
      Tensor y = conv2d(x, w, b, params);
      y.backward(Tensor::from_vector(p.dy, y.shape()).to(Device::cuda()));
      testing::expect_conv_forward(p, host(y), "forced " + std::to_string(forced));
    }
    const std::string said = ::testing::internal::GetCapturedStderr();
    set_conv_variant(0);
    // Two steps, each gradient accumulated twice.
    Grads twice = p.grads_ref;
    for (auto* g : {&twice.dx, &twice.dw, &twice.db})
      for (float& v : *g) v *= 2;
    Problem doubled = p;
    doubled.grads_ref = twice;
    doubled.sy = 2 * p.sy;
    testing::expect_conv_backward(doubled, Grads{host(x.grad()), host(w.grad()), host(b.grad())},
                                  "forced " + std::to_string(forced));
    if (forced == 1) {
      EXPECT_EQ(said, "");
    } else {  // rung 2 has no backward: two notes, once each
      EXPECT_EQ(said,
                "danlu: note: conv2d (2, 6, 15, 15) * (10, 6, 3, 3): conv variant 2 (tiled "
                "direct) cannot run the backward-data pass of this convolution: it has no "
                "backward-data pass; variant 4 (register-blocked implicit GEMM) runs it\n"
                "danlu: note: conv2d (2, 6, 15, 15) * (10, 6, 3, 3): conv variant 2 (tiled "
                "direct) cannot run the backward-weight pass of this convolution: it has no "
                "backward-weight pass; variant 4 (register-blocked implicit GEMM) runs it\n");
    }
  }
  set_conv_allow_tf32(true);
}

}  // namespace
}  // namespace danlu
