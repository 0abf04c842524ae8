// `danlu profile`'s measurement on a device: one tiny shape per op, two
// timed launches each, must give a positive time for every row (ours, and
// cuDNN's where the build has it), a measured bandwidth and a JSON report of
// the same rows. In the emulated build the times are host times.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "profiler/benches.h"
#include "profiler/run.h"
#include "tests/support/cuda_buffer.h"

namespace danlu::profiler {
namespace {

std::vector<Workload> one_tiny_shape_per_op() {
  kernels::Conv2dShape c;
  c.n = 2, c.c = 3, c.h = c.w = 6, c.o = 4, c.kh = c.kw = 3, c.pad_h = c.pad_w = 1;
  c.oh = c.ow = 6;
  PoolWork pool;
  pool.s.planes = 4, pool.s.h = pool.s.w = 6, pool.s.oh = pool.s.ow = 3;
  pool.s.kh = pool.s.kw = pool.s.stride_h = pool.s.stride_w = 2;
  return {ConvWork{c},
          BatchNormWork{2, 3, 16},
          LayerNormWork{4, 32},
          ActivationWork{kernels::Activation::relu, 100},
          pool,
          XentWork{4, 10},
          OptimWork{{50, 7}},
          GemmWork{4, 16, 8}};
}

TEST(Profiler, EveryOpAndDirectionGetsAPositiveTime) {
  DANLU_REQUIRE_GPU();
  ProfileOptions options;
  options.iters = 2;
  options.warmup = 1;
  options.copy_bytes = 1 << 20;
  const Report report = run_profile(one_tiny_shape_per_op(), options);
  // conv 3 x (fp32, tf32), bn 2, ln 2, act 2, pool 2, xent 2, optim 1, gemm 3 x (fp32, tf32).
  ASSERT_EQ(report.rows.size(), 23u);
  EXPECT_GT(report.roofline.bandwidth, 0);
  const nlohmann::json j = to_json(report);
  ASSERT_EQ(j["rows"].size(), report.rows.size());
  for (const nlohmann::json& row : j["rows"]) {
    const std::string what = row["op"].get<std::string>() + " " + row["direction"].get<std::string>();
    EXPECT_GT(row["ours_median_ms"].get<double>(), 0) << what;
    EXPECT_GT(row["ours_min_ms"].get<double>(), 0) << what;
    EXPECT_LE(row["ours_min_ms"].get<double>(), row["ours_median_ms"].get<double>()) << what;
    const bool vendor = built_with_cudnn() && (row["op"] == "conv" || row["op"] == "bn");
    EXPECT_EQ(row["vendor_median_ms"].is_number(), vendor) << what;
    if (vendor) {
      EXPECT_GT(row["vendor_median_ms"].get<double>(), 0) << what;
    }
  }
}

// --conv-variant all --no-tf32: the dispatcher's choice and each rung, in
// FP32, a row per pass the rung runs; rung 2 has only the forward, so its
// two backward passes are notes.
TEST(Profiler, EveryConvVariantGetsItsOwnRows) {
  DANLU_REQUIRE_GPU();
  ProfileOptions options;
  options.ops = {Op::conv};
  options.conv_variants = parse_conv_variants("all");
  options.allow_tf32 = false;
  options.iters = 1;
  options.warmup = 0;
  options.copy_bytes = 1 << 20;
  const Report report = run_profile({one_tiny_shape_per_op()[0]}, options);
  std::vector<std::string> kernels;
  for (const Row& row : report.rows) {
    EXPECT_EQ(row.math, Math::fp32);
    EXPECT_GT(row.ours.median_ms, 0);
    kernels.push_back(row.kernel);
  }
  EXPECT_EQ(kernels, (std::vector<std::string>{
                         "auto: 2 tiled direct", "auto: 4 register-blocked implicit GEMM",
                         "auto: 4 register-blocked implicit GEMM", "1 naive direct",
                         "1 naive direct", "1 naive direct", "2 tiled direct", "3 implicit GEMM",
                         "3 implicit GEMM", "3 implicit GEMM", "4 register-blocked implicit GEMM",
                         "4 register-blocked implicit GEMM", "4 register-blocked implicit GEMM"}));
  int refusals = 0;
  for (const std::string& note : report.notes)
    refusals += note.find("variant 2 (tiled direct) not timed: it has no backward-") !=
                std::string::npos;
  EXPECT_EQ(refusals, 2);
}

}  // namespace
}  // namespace danlu::profiler
