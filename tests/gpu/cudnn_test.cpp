// The cuDNN comparison backend: danlu's conv2d kernels and cuDNN agree in
// every direction on the same inputs (odd sizes, stride, dilation, groups,
// depthwise, 1x1, a 7x7 first layer, batch 128), cuDNN's batch norm agrees
// with danlu's CUDA batch norm and the CPU reference, cuDNN repeats its bits,
// and the conv backend switch works through the op, or says clearly that
// this build has no cuDNN.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/batchnorm.h"
#include "kernels/conv.h"
#include "tests/support/conv_shape.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"
#ifdef DANLU_WITH_CUDNN
#include "kernels/cudnn.h"
#endif

namespace danlu {
namespace {

TEST(ConvBackend, ParsesItsTwoNames) {
  EXPECT_EQ(parse_conv_backend("ours"), ConvBackend::ours);
  EXPECT_EQ(parse_conv_backend("cudnn"), ConvBackend::cudnn);
  EXPECT_THROW(parse_conv_backend("cuDNN8"), Error);
}

// Restores the default backend however a test ends.
// The backend, in strict FP32 so that both sides compute the same arithmetic.
struct BackendGuard {
  explicit BackendGuard(ConvBackend b) {
    set_conv_backend(b);
    set_conv_allow_tf32(false);
  }
  ~BackendGuard() {
    set_conv_backend(ConvBackend::ours);
    set_conv_allow_tf32(true);
  }
};

#ifndef DANLU_WITH_CUDNN

TEST(ConvBackend, CudnnIsRefusedWithoutCudnn) {
  try {
    set_conv_backend(ConvBackend::cudnn);
    FAIL() << "set_conv_backend accepted cudnn in a build without cuDNN";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no cuDNN"), std::string::npos) << e.what();
  }
  EXPECT_EQ(conv_backend(), ConvBackend::ours);
}

#else

using kernels::Conv2dShape;
using testing::bitwise_equal;
using testing::conv;
using testing::DeviceBuffer;
using testing::expect_close_floats;
using testing::uniform_floats;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

const Conv2dShape kConvShapes[] = {
    conv({3, 5, 13, 13}, {7, 3, 3}, 1, 1),      conv({2, 6, 15, 15}, {10, 3, 3}, 2, 0),
    conv({2, 5, 17, 17}, {6, 3, 3}, 1, 2, 2),   conv({2, 10, 13, 13}, {14, 3, 3}, 1, 1, 1, 2),
    conv({2, 12, 13, 13}, {12, 3, 3}, 1, 1, 1, 12), conv({3, 70, 7, 7}, {65, 1, 1}),
    conv({2, 3, 29, 29}, {16, 7, 7}, 2, 3),     conv({128, 8, 28, 28}, {16, 3, 3}, 1, 1),
};

std::string describe(const Conv2dShape& s) {
  std::ostringstream out;
  out << "x (" << s.n << ", " << s.c << ", " << s.h << ", " << s.w << ") w (" << s.o << ", "
      << s.c / s.groups << ", " << s.kh << ", " << s.kw << ") stride " << s.stride_h << " pad "
      << s.pad_h << " dil " << s.dil_h << " groups " << s.groups;
  return out.str();
}

struct ConvResult {
  std::vector<float> y, dx, dw, db;
};

// One backend's forward and backward on the same inputs in [-1, 1).
ConvResult run_conv(const Conv2dShape& s, bool cudnn) {
  const int64_t nx = s.n * s.c * s.h * s.w, nw = s.o * s.c / s.groups * s.kh * s.kw;
  const int64_t ny = s.n * s.o * s.oh * s.ow;
  DeviceBuffer<float> x(uniform_floats(nx, 1, -1, 1)), w(uniform_floats(nw, 2, -1, 1));
  DeviceBuffer<float> b(uniform_floats(s.o, 3, -1, 1)), dy(uniform_floats(ny, 4, -1, 1));
  DeviceBuffer<float> y(ny), dx(nx), dw(nw), db(s.o);
  if (cudnn) {
    kernels::cudnn::conv2d_forward(x.get(), w.get(), b.get(), y.get(), s, stream(), false);
    kernels::cudnn::conv2d_backward(x.get(), w.get(), dy.get(), dx.get(), dw.get(), db.get(), s,
                                    stream(), false);
  } else {
    kernels::cuda::conv2d_forward(x.get(), w.get(), b.get(), y.get(), s, stream());
    DeviceBuffer<float> ws(kernels::cuda::conv2d_workspace(s));
    kernels::cuda::conv2d_backward(x.get(), w.get(), dy.get(), dx.get(), dw.get(), db.get(),
                                   ws.get(), s, stream());
  }
  return {y.to_host(), dx.to_host(), dw.to_host(), db.to_host()};
}

// Both backends add K products of values in [-1, 1) in FP32, in different
// orders: as in conv_test.cpp, each side's rounding error is about
// 0.3 * K * u, and 4 * K * u bounds the difference with margin. dbias: cuDNN
// sums in float (danlu in double), so it gets the same bound with K = N*OH*OW.
constexpr double kU = 0x1p-24;
double sum_atol(int64_t k) { return 4.0 * k * kU; }
constexpr double kRtol = 4 * kU;

TEST(Cudnn, ConvMatchesOurKernelsInEveryDirection) {
  DANLU_REQUIRE_GPU();
  for (const Conv2dShape& s : kConvShapes) {
    const std::string what = describe(s);
    SCOPED_TRACE(what);
    const ConvResult ours = run_conv(s, false), theirs = run_conv(s, true);
    const int64_t k_y = s.c / s.groups * s.kh * s.kw, k_dx = s.o / s.groups * s.kh * s.kw;
    const int64_t k_dw = s.n * s.oh * s.ow;
    expect_close_floats(ours.y, theirs.y, sum_atol(k_y), kRtol, what + " y");
    expect_close_floats(ours.dx, theirs.dx, sum_atol(k_dx), kRtol, what + " dx");
    expect_close_floats(ours.dw, theirs.dw, sum_atol(k_dw), kRtol, what + " dweight");
    expect_close_floats(ours.db, theirs.db, sum_atol(k_dw), kRtol, what + " dbias");
  }
}

TEST(Cudnn, ConvRepeatsItsBits) {
  DANLU_REQUIRE_GPU();
  const Conv2dShape s = kConvShapes[7];
  const ConvResult a = run_conv(s, true), b = run_conv(s, true);
  EXPECT_TRUE(bitwise_equal(a.y, b.y));
  EXPECT_TRUE(bitwise_equal(a.dx, b.dx));
  EXPECT_TRUE(bitwise_equal(a.dw, b.dw));
  EXPECT_TRUE(bitwise_equal(a.db, b.db));
}

// Batch norm (training) on (N, C, S): x in offset + [-2, 2), weight in
// [0.5, 1.5), bias and dy in [-1, 1).
struct BnResult {
  std::vector<float> y, mean, invstd, running_mean, running_var, dx, dw, db;
};

struct BnShape {
  int64_t N, C, S;
};

constexpr double kMomentum = 0.1, kEps = 1e-5;

enum class BnBackend { cpu, ours, cudnn };

BnResult run_bn(const BnShape& s, float offset, BnBackend backend) {
  const int64_t n = s.N * s.C * s.S;
  const std::vector<float> x = uniform_floats(n, 11, offset - 2, offset + 2);
  const std::vector<float> w = uniform_floats(s.C, 12, 0.5f, 1.5f);
  const std::vector<float> b = uniform_floats(s.C, 13, -1, 1);
  const std::vector<float> dy = uniform_floats(n, 14, -1, 1);
  BnResult r{std::vector<float>(n),   std::vector<float>(s.C), std::vector<float>(s.C),
             std::vector<float>(s.C), std::vector<float>(s.C, 1.f), std::vector<float>(n),
             std::vector<float>(s.C), std::vector<float>(s.C)};
  if (backend == BnBackend::cpu) {
    kernels::cpu::batchnorm_forward_train<float>(x.data(), w.data(), b.data(), r.y.data(),
                                                 r.mean.data(), r.invstd.data(),
                                                 r.running_mean.data(), r.running_var.data(),
                                                 s.N, s.C, s.S, kMomentum, kEps);
    kernels::cpu::batchnorm_backward<float>(dy.data(), x.data(), w.data(), r.mean.data(),
                                            r.invstd.data(), r.dx.data(), r.dw.data(),
                                            r.db.data(), s.N, s.C, s.S, true);
    return r;
  }
  DeviceBuffer<float> xd(x), wd(w), bd(b), dyd(dy), y(n), mean(s.C), invstd(s.C);
  DeviceBuffer<float> rm(r.running_mean), rv(r.running_var), dx(n), dw(s.C), db(s.C);
  if (backend == BnBackend::cudnn) {
    kernels::cudnn::batchnorm_forward_train(xd.get(), wd.get(), bd.get(), y.get(), mean.get(),
                                            invstd.get(), rm.get(), rv.get(), s.N, s.C, s.S,
                                            kMomentum, kEps, stream());
    kernels::cudnn::batchnorm_backward_train(dyd.get(), xd.get(), wd.get(), mean.get(),
                                             invstd.get(), dx.get(), dw.get(), db.get(), s.N,
                                             s.C, s.S, kEps, stream());
  } else {
    kernels::cuda::batchnorm_forward_train(xd.get(), wd.get(), bd.get(), y.get(), mean.get(),
                                           invstd.get(), rm.get(), rv.get(), s.N, s.C, s.S,
                                           kMomentum, kEps, stream());
    kernels::cuda::batchnorm_backward(dyd.get(), xd.get(), wd.get(), mean.get(), invstd.get(),
                                      dx.get(), dw.get(), db.get(), s.N, s.C, s.S, true,
                                      stream());
  }
  return {y.to_host(),  mean.to_host(), invstd.to_host(), rm.to_host(),
          rv.to_host(), dx.to_host(),   dw.to_host(),     db.to_host()};
}

// Tolerances, as tests/gpu/batchnorm_test.cpp derives them: y to 1e-5 plus
// the half-ulp of a mean near `offset` carried through invstd * weight (< 3);
// mean to float rounding, invstd and the running variance to 1e-5 relative
// (variances of centred data, accumulated differently); dbias and dweight
// are sums of M = N*S terms of size <= 1 (<= 2 for dy * xhat): 4 * M * u
// each, as for the conv sums; dx combines them divided by M with terms of
// size <= 3 * invstd: 1e-5 relative to invstd's scale.
void expect_bn_close(const BnResult& out, const BnResult& ref, const BnShape& s, float offset,
                     const std::string& what) {
  const int64_t m = s.N * s.S;
  expect_close_floats(out.y, ref.y, 1e-5 + 1e-7 * offset, 1e-6, what + " y");
  expect_close_floats(out.mean, ref.mean, 1e-6, 1e-6, what + " mean");
  expect_close_floats(out.invstd, ref.invstd, 1e-6, 1e-5, what + " invstd");
  expect_close_floats(out.running_mean, ref.running_mean, 1e-6, 1e-6, what + " running mean");
  expect_close_floats(out.running_var, ref.running_var, 1e-6, 1e-5, what + " running var");
  expect_close_floats(out.db, ref.db, sum_atol(m), kRtol, what + " dbias");
  expect_close_floats(out.dw, ref.dw, 2 * sum_atol(m), kRtol, what + " dweight");
  expect_close_floats(out.dx, ref.dx, 1e-5, 1e-5, what + " dx");
}

TEST(Cudnn, BatchNormMatchesOursAndTheCpu) {
  DANLU_REQUIRE_GPU();
  for (const BnShape& s : {BnShape{4, 7, 33}, BnShape{1, 3, 1025}, BnShape{128, 16, 784}}) {
    for (float offset : {0.f, 1e3f}) {
      std::ostringstream name;
      name << "(" << s.N << ", " << s.C << ", " << s.S << ") offset " << offset;
      const std::string what = name.str();
      SCOPED_TRACE(what);
      const BnResult theirs = run_bn(s, offset, BnBackend::cudnn);
      expect_bn_close(theirs, run_bn(s, offset, BnBackend::cpu), s, offset, what + " vs cpu");
      expect_bn_close(theirs, run_bn(s, offset, BnBackend::ours), s, offset, what + " vs ours");
    }
  }
}

// Through the op: conv2d on CUDA tensors gives the same values and gradients
// with either backend.
TEST(Cudnn, BackendSwitchThroughTheOp) {
  DANLU_REQUIRE_GPU();
  Conv2dParams p;
  p.stride = {2, 2};
  p.padding = {1, 1};
  Tensor x = Tensor::randn({3, 5, 13, 13}).to(Device::cuda());
  Tensor w = Tensor::randn({7, 5, 3, 3}).to(Device::cuda());
  Tensor b = Tensor::randn({7}).to(Device::cuda());
  Tensor gy = Tensor::randn({3, 7, 7, 7}).to(Device::cuda());
  auto run = [&](ConvBackend backend) {
    BackendGuard guard(backend);
    Tensor xi = x.detach().set_requires_grad(), wi = w.detach().set_requires_grad();
    Tensor bi = b.detach().set_requires_grad();
    Tensor y = conv2d(xi, wi, bi, p);
    y.backward(gy);
    return std::vector<Tensor>{y, xi.grad(), wi.grad(), bi.grad()};
  };
  const std::vector<Tensor> ours = run(ConvBackend::ours), theirs = run(ConvBackend::cudnn);
  EXPECT_EQ(conv_backend(), ConvBackend::ours);
  // randn terms rarely exceed 16: K = 45 (y), 63 (dx), 147 (dweight, dbias).
  const char* names[] = {"y", "dx", "dweight", "dbias"};
  const int64_t ks[] = {45, 63, 147, 147};
  for (int i = 0; i < 4; ++i)
    testing::expect_close(theirs[i].to(Device::cpu()), ours[i].to(Device::cpu()),
                          16 * sum_atol(ks[i]), kRtol, names[i]);
}

#endif

}  // namespace
}  // namespace danlu
