// CUDA pooling against the CPU reference: max pooling (values, argmax
// indices with ties, NaN and -inf, and the gather backward), average pooling
// with and without count_include_pad, ceil_mode windows clipped at the
// border, overlapping windows, asymmetric kernels, adaptive and global
// average pooling (shrinking and growing), batch 1 and 128 x 16 planes of
// 28 x 28, large magnitudes; repeated runs give the same bits; the ops on
// CUDA tensors match the ops on the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/pool.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using kernels::Pool2dShape;
using testing::bitwise_equal;
using testing::DeviceBuffer;
using testing::expect_close_floats;
using testing::uniform_floats;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

// engine/ops/pool.cpp's output size (PyTorch's rule).
int64_t pooled(int64_t in, int64_t k, int64_t pad, int64_t stride, bool ceil_mode) {
  int64_t out = (in + 2 * pad - k + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

struct Case {
  std::string name;
  Pool2dShape s;
};

Case window(std::string name, int64_t planes, int64_t h, int64_t w, std::array<int64_t, 2> k,
            std::array<int64_t, 2> stride, std::array<int64_t, 2> pad, bool ceil_mode = false) {
  Pool2dShape s;
  s.planes = planes, s.h = h, s.w = w;
  s.kh = k[0], s.kw = k[1];
  s.stride_h = stride[0], s.stride_w = stride[1];
  s.pad_h = pad[0], s.pad_w = pad[1];
  s.oh = pooled(h, s.kh, s.pad_h, s.stride_h, ceil_mode);
  s.ow = pooled(w, s.kw, s.pad_w, s.stride_w, ceil_mode);
  return {std::move(name), s};
}

std::vector<Case> window_cases() {
  return {
      window("2x2 on 13x13 (last row and column dropped)", 15, 13, 13, {2, 2}, {2, 2}, {0, 0}),
      window("2x2 on 128 x 16 planes of 28x28", 128 * 16, 28, 28, {2, 2}, {2, 2}, {0, 0}),
      window("3x3 stride 2 pad 1", 6, 17, 17, {3, 3}, {2, 2}, {1, 1}),
      window("3x3 stride 2 pad 1 ceil_mode", 6, 14, 14, {3, 3}, {2, 2}, {1, 1}, true),
      window("3x3 stride 1 pad 1 (overlapping)", 5, 11, 13, {3, 3}, {1, 1}, {1, 1}),
      window("3x2 stride (2, 1) pad (1, 0)", 4, 11, 9, {3, 2}, {2, 1}, {1, 0}),
      window("5x5 stride 3 pad 2 ceil_mode", 3, 16, 16, {5, 5}, {3, 3}, {2, 2}, true),
      window("batch 1: 3 planes", 3, 9, 9, {2, 2}, {2, 2}, {0, 0}),
  };
}

std::vector<Case> adaptive_cases() {
  auto adaptive = [](std::string name, int64_t planes, int64_t h, int64_t w, int64_t oh,
                     int64_t ow) {
    Pool2dShape s;
    s.planes = planes, s.h = h, s.w = w, s.oh = oh, s.ow = ow;
    return Case{std::move(name), s};
  };
  return {
      adaptive("global 13x13", 15, 13, 13, 1, 1),
      adaptive("global 7x7 over 128 x 64 planes", 128 * 64, 7, 7, 1, 1),
      adaptive("13x11 -> 3x4 (overlapping bins)", 6, 13, 11, 3, 4),
      adaptive("identity 7x7", 4, 7, 7, 7, 7),
      adaptive("5x3 -> 8x6 (growing)", 3, 5, 3, 8, 6),
      adaptive("1x1 -> 3x3", 2, 1, 1, 3, 3),
      adaptive("28x28 -> 2x2", 5, 28, 28, 2, 2),
  };
}

int64_t in_size(const Pool2dShape& s) { return s.planes * s.h * s.w; }
int64_t out_size(const Pool2dShape& s) { return s.planes * s.oh * s.ow; }

// Values on a grid of 0.5 in [-4, 4), so that windows hold ties.
std::vector<float> with_ties(int64_t n, uint64_t seed) {
  std::vector<float> v = uniform_floats(n, seed, -4.f, 4.f);
  for (float& x : v) x = std::round(x * 2.f) / 2.f;
  return v;
}

// Tolerances. Max pooling selects values, so y and the indices must be
// identical. The sums (the backwards, average pooling) add the same terms
// in the same order as the CPU, so they should be identical too; a few ulps
// of the result are allowed in case a compiler evaluates one differently.
constexpr double kSumRtol = 4 * 0x1p-24;

struct MaxResult {
  std::vector<float> y;
  std::vector<int32_t> indices;
  std::vector<float> dx;
};

MaxResult cpu_max(const Pool2dShape& s, const std::vector<float>& x, const std::vector<float>& dy) {
  MaxResult r{std::vector<float>(out_size(s)), std::vector<int32_t>(out_size(s)),
              std::vector<float>(in_size(s))};
  kernels::cpu::max_pool2d_forward<float>(x.data(), r.y.data(), r.indices.data(), s);
  kernels::cpu::max_pool2d_backward<float>(dy.data(), r.indices.data(), r.dx.data(), s);
  return r;
}

MaxResult gpu_max(const Pool2dShape& s, const std::vector<float>& x, const std::vector<float>& dy) {
  DeviceBuffer<float> xd(x), yd(out_size(s)), dyd(dy), dxd(in_size(s));
  DeviceBuffer<int32_t> indices(out_size(s));
  kernels::cuda::max_pool2d_forward(xd.get(), yd.get(), indices.get(), s, stream());
  kernels::cuda::max_pool2d_backward(dyd.get(), indices.get(), dxd.get(), s, stream());
  return {yd.to_host(), indices.to_host(), dxd.to_host()};
}

void expect_max_matches(const Pool2dShape& s, const std::vector<float>& x, uint64_t seed,
                        const std::string& what) {
  const std::vector<float> dy = uniform_floats(out_size(s), seed, -1.f, 1.f);
  const MaxResult ref = cpu_max(s, x, dy), out = gpu_max(s, x, dy);
  EXPECT_TRUE(bitwise_equal(out.y, ref.y)) << what << " y";
  EXPECT_EQ(out.indices, ref.indices) << what << " indices";
  expect_close_floats(out.dx, ref.dx, 0.0, kSumRtol, what + " dx");
}

TEST(GpuPool, MaxPoolMatchesCpu) {
  DANLU_REQUIRE_GPU();
  uint64_t seed = 10;
  for (const Case& c : window_cases()) {
    SCOPED_TRACE(c.name);
    seed += 4;
    expect_max_matches(c.s, uniform_floats(in_size(c.s), seed, -3.f, 3.f), seed + 1, c.name);
    expect_max_matches(c.s, with_ties(in_size(c.s), seed + 2), seed + 3, c.name + " with ties");
  }
}

// NaN wins over numbers and -inf inputs still produce an index inside the
// window, as on the CPU.
TEST(GpuPool, MaxPoolNanAndInfinity) {
  DANLU_REQUIRE_GPU();
  for (const Case& c : {window_cases()[2], window_cases()[4]}) {
    SCOPED_TRACE(c.name);
    std::vector<float> x = with_ties(in_size(c.s), 30);
    for (size_t i = 0; i < x.size(); i += 7) x[i] = std::numeric_limits<float>::quiet_NaN();
    for (size_t i = 3; i < x.size(); i += 5) x[i] = -std::numeric_limits<float>::infinity();
    expect_max_matches(c.s, x, 31, c.name + " NaN and -inf");
  }
}

struct AvgResult {
  std::vector<float> y, dx;
};

AvgResult cpu_avg(const Pool2dShape& s, const std::vector<float>& x, const std::vector<float>& dy,
                  bool adaptive, bool include_pad) {
  AvgResult r{std::vector<float>(out_size(s)), std::vector<float>(in_size(s))};
  if (adaptive) {
    kernels::cpu::adaptive_avg_pool2d_forward<float>(x.data(), r.y.data(), s);
    kernels::cpu::adaptive_avg_pool2d_backward<float>(dy.data(), r.dx.data(), s);
  } else {
    kernels::cpu::avg_pool2d_forward<float>(x.data(), r.y.data(), s, include_pad);
    kernels::cpu::avg_pool2d_backward<float>(dy.data(), r.dx.data(), s, include_pad);
  }
  return r;
}

AvgResult gpu_avg(const Pool2dShape& s, const std::vector<float>& x, const std::vector<float>& dy,
                  bool adaptive, bool include_pad) {
  DeviceBuffer<float> xd(x), yd(out_size(s)), dyd(dy), dxd(in_size(s));
  if (adaptive) {
    kernels::cuda::adaptive_avg_pool2d_forward(xd.get(), yd.get(), s, stream());
    kernels::cuda::adaptive_avg_pool2d_backward(dyd.get(), dxd.get(), s, stream());
  } else {
    kernels::cuda::avg_pool2d_forward(xd.get(), yd.get(), s, include_pad, stream());
    kernels::cuda::avg_pool2d_backward(dyd.get(), dxd.get(), s, include_pad, stream());
  }
  return {yd.to_host(), dxd.to_host()};
}

void expect_avg_matches(const Pool2dShape& s, bool adaptive, bool include_pad, float scale,
                        uint64_t seed, const std::string& what) {
  const std::vector<float> x = uniform_floats(in_size(s), seed, -scale, scale);
  const std::vector<float> dy = uniform_floats(out_size(s), seed + 1, -scale, scale);
  const AvgResult ref = cpu_avg(s, x, dy, adaptive, include_pad);
  const AvgResult out = gpu_avg(s, x, dy, adaptive, include_pad);
  expect_close_floats(out.y, ref.y, 0.0, kSumRtol, what + " y");
  expect_close_floats(out.dx, ref.dx, 0.0, kSumRtol, what + " dx");
}

TEST(GpuPool, AvgPoolMatchesCpu) {
  DANLU_REQUIRE_GPU();
  uint64_t seed = 50;
  for (const Case& c : window_cases()) {
    for (bool include_pad : {true, false}) {
      const std::string what = c.name + (include_pad ? " count_include_pad" : " exclude pad");
      SCOPED_TRACE(what);
      expect_avg_matches(c.s, false, include_pad, 1.f, seed += 2, what);
      expect_avg_matches(c.s, false, include_pad, 1e4f, seed += 2, what + " x1e4");
    }
  }
}

TEST(GpuPool, AdaptiveAvgPoolMatchesCpu) {
  DANLU_REQUIRE_GPU();
  uint64_t seed = 90;
  for (const Case& c : adaptive_cases()) {
    SCOPED_TRACE(c.name);
    expect_avg_matches(c.s, true, true, 1.f, seed += 2, c.name);
    expect_avg_matches(c.s, true, true, 1e4f, seed += 2, c.name + " x1e4");
  }
}

TEST(GpuPool, RepeatedRunsGiveIdenticalBits) {
  DANLU_REQUIRE_GPU();
  const Pool2dShape s = window_cases()[4].s;  // overlapping windows: many terms per dx
  const std::vector<float> x = with_ties(in_size(s), 70);
  const std::vector<float> dy = uniform_floats(out_size(s), 71, -1.f, 1.f);
  const MaxResult a = gpu_max(s, x, dy), b = gpu_max(s, x, dy);
  EXPECT_TRUE(bitwise_equal(a.dx, b.dx));
  const AvgResult c = gpu_avg(s, x, dy, false, false), d = gpu_avg(s, x, dy, false, false);
  EXPECT_TRUE(bitwise_equal(c.y, d.y));
  EXPECT_TRUE(bitwise_equal(c.dx, d.dx));
}

// The ops on CUDA tensors, forward and backward through autograd, against
// the same ops on the CPU.
TEST(GpuPool, OpsOnCudaTensorsMatchCpu) {
  DANLU_REQUIRE_GPU();
  Pool2dParams p;
  p.kernel = {3, 3};
  p.stride = {2, 2};
  p.padding = {1, 1};
  p.ceil_mode = true;
  p.count_include_pad = false;
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> ops = {
      {"max_pool2d", [&](const Tensor& x) { return max_pool2d(x, p); }},
      {"avg_pool2d", [&](const Tensor& x) { return avg_pool2d(x, p); }},
      {"adaptive_avg_pool2d", [](const Tensor& x) { return adaptive_avg_pool2d(x, {3, 4}); }},
  };
  for (const auto& [name, op] : ops) {
    SCOPED_TRACE(name);
    Tensor x = Tensor::randn({2, 3, 13, 11}).set_requires_grad();
    Tensor xg = x.detach().to(Device::cuda()).set_requires_grad();
    Tensor y = op(x), yg = op(xg);
    ASSERT_TRUE(yg.device().is_cuda());
    Tensor gy = Tensor::randn(y.shape());
    y.backward(gy);
    yg.backward(gy.to(Device::cuda()));
    testing::expect_close(yg.to(Device::cpu()), y, 0.0, kSumRtol, name + " y");
    testing::expect_close(xg.grad().to(Device::cpu()), x.grad(), 0.0, kSumRtol, name + " dx");
  }
}

}  // namespace
}  // namespace danlu
