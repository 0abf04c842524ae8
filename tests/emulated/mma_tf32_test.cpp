// The TF32 tensor-core wrappers (kernels/cuda/mma_tf32.cuh) as the emulator
// runs them: to_tf32 rounds as cvt.rna.tf32.f32 does; a warp's
// mma.sync.m16n8k8, fed by the documented fragment layout, matches a host
// product of the same TF32 inputs; unrounded inputs are truncated; and a warp
// whose lanes do not all reach the same mma is reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/mma_tf32.cuh"
#include "tests/emulated/mma_tf32_kernels.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/error_of.h"

namespace danlu {
namespace {

using kernels::cuda::launch;
using testing::DeviceBuffer;
using testing::error_of;
using testing::kMmaK;
using testing::kMmaM;
using testing::kMmaN;

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

TEST(EmulatedMmaTf32, ToTf32RoundsToNearestTiesAwayFromZero) {
  DANLU_REQUIRE_GPU();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    float in;
    uint32_t want;  // bits
  };
  // One TF32 ulp at 1 is 2^-10; the dropped bits are the low 13 of 23.
  const std::vector<Case> cases = {
      {1.0f, 0x3f800000u},
      {1.0f + 0x1p-11f, 0x3f802000u},    // a tie: away from zero, up to 1 + 2^-10 (to even: 1)
      {-(1.0f + 0x1p-11f), 0xbf802000u}, // the same tie below zero: away, down
      {1.0f + 0x1p-11f - 0x1p-23f, 0x3f800000u},  // just below the tie: down
      {1.0f + 0x1p-11f + 0x1p-23f, 0x3f802000u},  // just above: up
      {1.0f + 5 * 0x1p-11f, 0x3f806000u},  // a tie above an even TF32 value: away (to even: down)
      {2.0f - 0x1p-23f, 0x40000000u},  // rounds up into the next exponent: 2
      {2.0f - 0x1p-11f, 0x40000000u},  // a tie whose away side is 2
      {-0.0f, 0x80000000u},
      {0x1p-149f, 0x00000000u},        // the smallest subnormal rounds to zero
      {0x1p-137f, 0x00002000u},        // a subnormal tie: away, to the smallest TF32 subnormal
      {std::numeric_limits<float>::max(), 0x7f800000u},  // past the largest TF32 value: inf
      {inf, 0x7f800000u},
      {-inf, 0xff800000u},
  };
  std::vector<float> in;
  for (const Case& c : cases) in.push_back(c.in);
  in.push_back(std::numeric_limits<float>::quiet_NaN());
  in.push_back(from_bits(0x7f800001u));  // a NaN whose payload lies only in the dropped bits
  DeviceBuffer<float> d_in(in);
  DeviceBuffer<uint32_t> d_out(in.size());
  launch("round_to_tf32", testing::round_to_tf32, 1, 32, 0, nullptr, d_in.get(), d_out.get(),
         static_cast<int>(in.size()));
  const std::vector<uint32_t> out = d_out.to_host();
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(out[i], cases[i].want) << std::hexfloat << cases[i].in;
  for (size_t i = cases.size(); i < in.size(); ++i) {
    EXPECT_TRUE(std::isnan(from_bits(out[i]))) << std::hex << out[i];
    EXPECT_TRUE(std::isnan(from_bits(out[i] & 0xffffe000u))) << std::hex << out[i];
  }
}

// What a tensor core does with an operand register.
float truncated(float x) { return from_bits(bits_of(x) & 0xffffe000u); }
float rounded(float x) { return from_bits(kernels::cuda::to_tf32(x)); }

struct Products {
  std::vector<float> a, b, c;  // packed 16x8, 8x8 and 16x8 row-major matrices
};

// Values whose low mantissa bits are set, so that rounding and truncation matter.
Products random_products(int count) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  Products p;
  p.a.resize(static_cast<size_t>(count) * kMmaM * kMmaK);
  p.b.resize(static_cast<size_t>(count) * kMmaK * kMmaN);
  p.c.resize(static_cast<size_t>(count) * kMmaM * kMmaN);
  for (auto* v : {&p.a, &p.b, &p.c})
    for (float& x : *v) x = dist(rng);
  return p;
}

// d = operand(a) * operand(b) + c in double, and per element the sum of the
// magnitudes of its terms (the scale of the accumulation error).
void reference(const Products& p, int count, float (*operand)(float), std::vector<double>& d,
               std::vector<double>& scale) {
  d.assign(p.c.size(), 0.0);
  scale.assign(p.c.size(), 0.0);
  for (int q = 0; q < count; ++q)
    for (int m = 0; m < kMmaM; ++m)
      for (int n = 0; n < kMmaN; ++n) {
        const size_t o = static_cast<size_t>(q) * kMmaM * kMmaN + m * kMmaN + n;
        double sum = p.c[o], mag = std::fabs(p.c[o]);
        for (int k = 0; k < kMmaK; ++k) {
          const double term = static_cast<double>(operand(p.a[(q * kMmaM + m) * kMmaK + k])) *
                              operand(p.b[(q * kMmaK + k) * kMmaN + n]);
          sum += term;
          mag += std::fabs(term);
        }
        d[o] = sum;
        scale[o] = mag;
      }
}

// Tolerance: |ref - out| <= eps * (|c| + sum |a b|) with eps = 2^-20: a
// tensor core adds the eight exact products and C in f32 with an order and
// rounding of its own, a few f32 ulps of the terms' magnitude. Rounding or
// truncating the inputs to TF32 moves a result by about 2^-11 of that
// scale, far outside the bound, so a wrong layout or operand conversion
// cannot pass.
TEST(EmulatedMmaTf32, WarpProductsMatchTheHostWithTheSameOperands) {
  DANLU_REQUIRE_GPU();
  const int blocks = 2, warps = 2, count = blocks * warps;
  const Products p = random_products(count);
  DeviceBuffer<float> a(p.a), b(p.b), c(p.c), d(p.c.size());
  const double eps = 0x1p-20;
  for (bool round : {true, false}) {
    launch("warp_products", testing::warp_products, blocks, warps * 32, 0, nullptr, a.get(),
           b.get(), c.get(), d.get(), round);
    const std::vector<float> got = d.to_host();
    std::vector<double> want, scale, other, other_scale;
    reference(p, count, round ? rounded : truncated, want, scale);
    reference(p, count, round ? truncated : rounded, other, other_scale);
    double worst = 0.0, distinct = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_LE(std::fabs(got[i] - want[i]), eps * scale[i])
          << (round ? "to_tf32" : "truncated") << " operands, element " << i << ": got " << got[i]
          << ", want " << want[i];
      worst = std::max(worst, std::fabs(got[i] - want[i]) / scale[i]);
      distinct = std::max(distinct, std::fabs(other[i] - want[i]) / scale[i]);
    }
    EXPECT_GT(distinct, 100 * eps) << "the inputs do not tell rounding from truncation";
    EXPECT_LE(worst, eps);
  }
}

std::string misuse_error(testing::MmaMisuse misuse, int threads) {
  DeviceBuffer<float> d(64);
  return error_of([&] {
    launch("misused_mma", testing::misused_mma, 1, threads, 0, nullptr, d.get(),
           static_cast<int>(misuse));
  });
}

TEST(EmulatedMmaTf32, LanesThatMissTheMmaAreReported) {
  DANLU_REQUIRE_GPU();
  const std::string returned = misuse_error(testing::kLaneReturns, 64);
  EXPECT_NE(returned.find("kernel misused_mma, block (0,0,0): mma.sync.m16n8k8 at "
                          "tests/emulated/mma_tf32_kernels.cu:"),
            std::string::npos)
      << returned;
  EXPECT_NE(returned.find("lanes 5 of warp "), std::string::npos) << returned;
  EXPECT_NE(returned.find(" returned before it"), std::string::npos) << returned;
  const std::string elsewhere = misuse_error(testing::kLaneElsewhere, 32);
  EXPECT_NE(elsewhere.find("meet at different warp collectives"), std::string::npos) << elsewhere;
  EXPECT_NE(elsewhere.find("lanes 5: wait at __syncwarp"), std::string::npos) << elsewhere;
  const std::string two_calls = misuse_error(testing::kTwoCalls, 32);
  EXPECT_NE(two_calls.find("execute different mma.sync.m16n8k8 calls (lane 0: wait at mma.sync."
                           "m16n8k8(mask 0xffffffff) (tests/emulated/mma_tf32_kernels.cu:"),
            std::string::npos)
      << two_calls;
  const std::string partial = misuse_error(testing::kPartialWarp, 16);
  EXPECT_NE(partial.find("which has only 16 threads"), std::string::npos) << partial;
}

// The same kernel, every lane taking part: two warps, each D = 0 * 0 + 1.
TEST(EmulatedMmaTf32, EveryLaneTakingPartIsNotReported) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> d(64);
  launch("misused_mma", testing::misused_mma, 1, 64, 0, nullptr, d.get(),
         static_cast<int>(testing::kNoMisuse));
  EXPECT_EQ(d.to_host(), std::vector<float>(64, 1.0f));
}

}  // namespace
}  // namespace danlu
