// The CPU conv2d (kernels/cpu/conv.cpp) against the plain reference conv
// (kernels/cpu/conv_reference.h), in f32 and f64, on 1, 2 and 3 OpenMP
// threads, on shapes chosen to take each of its paths:
// - im2col/col2im: the moved-plane copy (stride 1, output as wide as the
//   input), col2im falling back to rows where too many wrapped columns
//   would be kept aside, the row-by-row copy at stride 1 and strided, taps
//   entirely in the padding;
// - the batch plan: one chunk of the whole batch; chunks one after another
//   with a shorter last one and a one-image chunk (y written in place, dy
//   read in place); chunks in sequence with threaded copies; whole chunks
//   per thread under serial BLAS, each thread summing its own dweight;
// - groups, depthwise, dilation, asymmetric parameters, 1x1, batch 1 and 0,
//   no bias, and each gradient computed alone.
// Every case runs on both paths (DANLU_CPU_CONV=lowered and direct); the
// 3x3 stride-1 ones take the direct convolution (kernels/cpu/conv_direct.cpp)
// under `direct`, and its own cases below take each of its edges.
// Outputs start as NaN, so an element the kernel fails to write shows.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "tests/support/conv_problem.h"
#include "tests/support/conv_shape.h"
#include "tests/support/error_of.h"
#include "tests/support/omp_threads.h"

namespace danlu {
namespace {

using kernels::Conv2dShape;
using testing::conv;
using testing::ConvGrads;
using testing::ConvProblem;

struct Case {
  std::string name;
  Conv2dShape s;
};

std::vector<Case> cases() {
  Conv2dShape asymmetric = conv({2, 6, 12, 15}, {5, 3, 5});
  asymmetric.stride_h = 2, asymmetric.pad_w = 2, asymmetric.dil_w = 2;
  return {
      {"odd 3x5x13x13 -> 7, 3x3 pad 1: moved planes, one chunk",
       conv({3, 5, 13, 13}, {7, 3, 3}, 1, 1)},
      {"batch 1: y and dy in place", conv({1, 6, 11, 11}, {9, 3, 3}, 1, 1)},
      {"7 images, 32 channels at 33x33, groups 2: chunks of 2, 2, 2, 1 on one thread, one "
       "image per thread on more",
       conv({7, 32, 33, 33}, {4, 3, 3}, 1, 0, 1, 2)},
      {"3 images, 16 channels: chunks in sequence, copies threaded",
       conv({3, 16, 15, 15}, {8, 3, 3}, 1, 1)},
      {"batch 20: two-image chunks per thread on two threads",
       conv({20, 4, 9, 9}, {6, 3, 3}, 1, 1)},
      {"stride 2 pad 0: strided rows", conv({2, 6, 15, 15}, {10, 3, 3}, 2, 0)},
      {"5x5 pad 2", conv({2, 5, 13, 13}, {7, 5, 5}, 1, 2)},
      {"dilation 2", conv({2, 5, 17, 17}, {6, 3, 3}, 1, 2, 2)},
      {"dilation 30: col2im by rows (1200 wrapped columns)",
       conv({1, 2, 40, 40}, {3, 3, 3}, 1, 30, 30)},
      {"asymmetric stride, padding, dilation, 3x5", testing::with_output_size(asymmetric)},
      {"groups 2", conv({2, 10, 13, 13}, {14, 3, 3}, 1, 1, 1, 2)},
      {"depthwise", conv({2, 12, 13, 13}, {12, 3, 3}, 1, 1, 1, 12)},
      {"depthwise x2 stride 2", conv({2, 6, 14, 14}, {12, 3, 3}, 2, 1, 1, 6)},
      {"1x1, 70 -> 65 channels", conv({3, 70, 7, 7}, {65, 1, 1})},
      {"kernel covers the input", conv({2, 5, 5, 5}, {3, 5, 5})},
      {"padding wider than the image", conv({2, 2, 4, 4}, {3, 3, 3}, 1, 3)},
      {"first layer: 3 channels, 7x7 stride 2 pad 3", conv({2, 3, 29, 29}, {16, 7, 7}, 2, 3)},
      {"batch 0", conv({0, 3, 5, 5}, {4, 3, 3}, 1, 1)},
  };
}

// The direct convolution's edges: rows that end inside a vector (full and
// half width), a last row tile cut short, channel counts that do not fill
// its 4-channel tiles, padding 0 and 2 and unequal per axis (dx pads dy by 2
// and 0), one input channel, and many images per thread.
std::vector<Case> direct_cases() {
  Conv2dShape pads = conv({2, 3, 9, 21}, {5, 3, 3});
  pads.pad_h = 0, pads.pad_w = 2;
  return {
      {"28x28, 16 -> 16: two vectors per row, the second 12 lanes",
       conv({3, 16, 28, 28}, {16, 3, 3}, 1, 1)},
      {"5 -> 7 channels, 13x13: half-width vectors, partial tiles",
       conv({3, 5, 13, 13}, {7, 3, 3}, 1, 1)},
      {"1 -> 3 channels, 5x3 rows narrower than a half vector",
       conv({2, 1, 5, 3}, {3, 3, 3}, 1, 1)},
      {"pad 0 and 2 per axis, 9x21", testing::with_output_size(pads)},
      {"pad 2 both axes", conv({2, 4, 6, 17}, {6, 3, 3}, 1, 2)},
      {"pad 0", conv({2, 6, 12, 40}, {9, 3, 3}, 1, 0)},
      {"33 images of 64 channels at 7x7",
       conv({33, 64, 7, 7}, {64, 3, 3}, 1, 1)},
  };
}

using testing::OmpThreads;

// Sets DANLU_CPU_CONV for a scope.
class ConvPath {
 public:
  explicit ConvPath(const char* path) { ::setenv("DANLU_CPU_CONV", path, 1); }
  ~ConvPath() { ::unsetenv("DANLU_CPU_CONV"); }
  ConvPath(const ConvPath&) = delete;
  ConvPath& operator=(const ConvPath&) = delete;
};

template <class T>
std::vector<T> unwritten(int64_t n) {
  return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
}

template <class T>
std::vector<T> forward(const ConvProblem<T>& p, bool with_bias) {
  std::vector<T> y = unwritten<T>(testing::y_size(p.s));
  std::vector<T> ws(kernels::cpu::conv2d_workspace(p.s));
  kernels::cpu::conv2d_forward<T>(p.x.data(), p.w.data(), with_bias ? p.b.data() : nullptr,
                                  y.data(), ws.data(), p.s);
  return y;
}

// The gradients asked for; the others come back empty.
template <class T>
ConvGrads<T> backward(const ConvProblem<T>& p, bool dx, bool dw, bool db) {
  ConvGrads<T> g{unwritten<T>(dx ? testing::x_size(p.s) : 0),
                 unwritten<T>(dw ? testing::w_size(p.s) : 0), unwritten<T>(db ? p.s.o : 0)};
  std::vector<T> ws(kernels::cpu::conv2d_workspace(p.s));
  const auto out = [](std::vector<T>& v, bool wanted) { return wanted ? v.data() : nullptr; };
  kernels::cpu::conv2d_backward<T>(p.x.data(), p.w.data(), p.dy.data(), out(g.dx, dx),
                                   out(g.dw, dw), out(g.db, db), ws.data(), p.s);
  return g;
}

template <class T>
void check_cases(const std::vector<Case>& all, const char* path) {
  ConvPath scope(path);
  uint64_t seed = 700;
  for (const Case& c : all) {
    const ConvProblem<T> p(c.s, seed += 10);
    for (int threads : {1, 2, 3}) {
      const std::string what = c.name + ", " + std::to_string(threads) + " threads, " + path;
      SCOPED_TRACE(what);
      OmpThreads scope(threads);
      testing::expect_conv_forward(p, forward(p, true), what);
      testing::expect_conv_forward(p, forward(p, false), what + " no bias", false);
      testing::expect_conv_backward(p, backward(p, true, true, true), what);
      testing::expect_conv_backward(p, backward(p, true, false, false), what + " dx alone");
      testing::expect_conv_backward(p, backward(p, false, true, false), what + " dweight alone");
    }
  }
}

TEST(ConvCpu, Float32MatchesReference) { check_cases<float>(cases(), "lowered"); }
TEST(ConvCpu, Float64MatchesReference) { check_cases<double>(cases(), "lowered"); }
TEST(ConvCpu, DirectFloat32MatchesReference) {
  check_cases<float>(cases(), "direct");
  check_cases<float>(direct_cases(), "direct");
}
TEST(ConvCpu, DirectFloat64MatchesReference) {
  check_cases<double>(cases(), "direct");
  check_cases<double>(direct_cases(), "direct");
}

// Which shapes run direct (forward and dx; dweight) under each
// DANLU_CPU_CONV, and a wrong value is an error naming the choices.
TEST(ConvCpu, PathFollowsTheShapeAndTheVariable) {
  const Conv2dShape resnet = conv({128, 16, 28, 28}, {16, 3, 3}, 1, 1);
  const Conv2dShape narrow = conv({128, 64, 7, 7}, {64, 3, 3}, 1, 1);
  const Conv2dShape strided = conv({128, 16, 28, 28}, {32, 3, 3}, 2, 1);
  const Conv2dShape first = conv({128, 1, 28, 28}, {32, 3, 3}, 1, 1);
  const Conv2dShape wide = conv({128, 32, 14, 14}, {64, 3, 3}, 1, 1);
  {
    ConvPath scope("auto");
    EXPECT_TRUE(kernels::cpu::conv2d_runs_direct(resnet));
    EXPECT_TRUE(kernels::cpu::conv2d_runs_direct(conv({128, 32, 14, 14}, {32, 3, 3}, 1, 1)));
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct(narrow));
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct(strided));
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct(first));
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct(wide));
    // The weight gradient has its own rule: 16 channels in to 64 out.
    EXPECT_TRUE(kernels::cpu::conv2d_runs_direct_weight(narrow));
    EXPECT_TRUE(kernels::cpu::conv2d_runs_direct_weight(wide));
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct_weight(first));
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct_weight(conv({128, 64, 7, 7}, {128, 3, 3}, 1, 1)));
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct_weight(strided));
  }
  {
    ConvPath scope("direct");
    EXPECT_TRUE(kernels::cpu::conv2d_runs_direct(narrow));
    EXPECT_TRUE(kernels::cpu::conv2d_runs_direct(first));
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct(strided));
  }
  {
    ConvPath scope("lowered");
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct(resnet));
    EXPECT_FALSE(kernels::cpu::conv2d_runs_direct_weight(resnet));
  }
  ::unsetenv("DANLU_CPU_CONV");  // the default is auto
  EXPECT_TRUE(kernels::cpu::conv2d_runs_direct(resnet));
  EXPECT_FALSE(kernels::cpu::conv2d_runs_direct(wide));
  ConvPath scope("fast");
  EXPECT_EQ(testing::error_of([&] { kernels::cpu::conv2d_runs_direct(resnet); }),
            "DANLU_CPU_CONV=fast: expected auto, direct or lowered");
}

// The cases above take the batch plans their names claim. The workspace
// shows the plan: `threads` buffers of a `chunk`-image lowered input and
// output, plus one dweight slice per thread when threads take whole chunks.
TEST(ConvCpu, CasesTakeTheirBatchPlans) {
  ConvPath lowered("lowered");
  const auto planned = [](const Conv2dShape& s, int threads) {
    OmpThreads scope(threads);
    return kernels::cpu::conv2d_workspace(s);
  };
  const auto workspace = [](const Conv2dShape& s, int threads, int64_t chunk) {
    const int64_t partials = threads > 1 ? threads * s.o * s.col_rows() / s.groups : 0;
    return threads * (s.col_rows() + s.o) * chunk * s.oh * s.ow + partials;
  };
  const std::vector<Case> all = cases();
  const Conv2dShape &seven = all[2].s, &three = all[3].s, &twenty = all[4].s;
  EXPECT_EQ(planned(seven, 1), workspace(seven, 1, 2)) << all[2].name;
  EXPECT_EQ(planned(seven, 2), workspace(seven, 2, 1)) << all[2].name;
  EXPECT_EQ(planned(seven, 3), workspace(seven, 3, 1)) << all[2].name;
  EXPECT_EQ(planned(three, 2), workspace(three, 1, 3)) << all[3].name;
  EXPECT_EQ(planned(twenty, 2), workspace(twenty, 2, 2)) << all[4].name;
  EXPECT_EQ(planned(twenty, 3), workspace(twenty, 3, 1)) << all[4].name;
}

// Magnitudes far from 1: the tolerances scale with the inputs.
TEST(ConvCpu, LargeMagnitudesMatchReference) {
  const Case c = cases()[0];
  const ConvProblem<float> p(c.s, 800, 1e3f, 1e2f, 1e3f);
  for (const char* path : {"lowered", "direct"}) {
    ConvPath scope(path);
    testing::expect_conv_forward(p, forward(p, true), c.name + " x1e3, w x1e2, " + path);
    testing::expect_conv_backward(p, backward(p, true, true, true),
                                  c.name + " x1e3, w x1e2, dy x1e3, " + path);
  }
}

}  // namespace
}  // namespace danlu
