// `danlu profile --roofline`: where each profiled kernel lands under the
// device's roofs, which rows have no place there, and the picture's file.
#include "cli/roofline_plot.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "engine/error.h"
#include "tests/support/test_directory.h"

namespace danlu::cli {
namespace {

using profiler::Math;
using profiler::Op;

profiler::Row row(Op op, Math math, double flops, double bytes, double ms,
                  std::optional<double> vendor_ms = std::nullopt) {
  profiler::Row r;
  r.op = op;
  r.math = math;
  r.cost = {flops, bytes};
  r.ours = {ms, ms};
  if (vendor_ms) {
    r.vendor = op == Op::conv ? "cuDNN" : "cuBLAS";
    r.vendor_time = profiler::Timing{*vendor_ms, *vendor_ms};
  }
  return r;
}

// An H100 SXM: 132 SMs at 1.98 GHz (256 FP32 and 2048 TF32 FLOPs per SM per
// clock), 3 TB/s measured.
profiler::Report h100(std::vector<profiler::Row> rows) {
  profiler::Report r;
  r.device.name = "NVIDIA H100 80GB HBM3";
  r.roofline = profiler::make_roofline(9, 0, 132, 1.98e6, 3e12);
  r.rows = std::move(rows);
  return r;
}

const Series* find(const std::vector<Series>& all, const std::string& label) {
  for (const Series& s : all)
    if (s.label == label) return &s;
  return nullptr;
}

TEST(RooflinePlot, RoofsThenOneDotPerKernelAtItsIntensityAndSpeed) {
  const auto series = roofline_series(h100({
      row(Op::conv, Math::fp32, 2e9, 1e7, 0.1, 0.05),  // 200 FLOP/B, 20 TFLOP/s; cuDNN 40
      row(Op::conv, Math::fp32, 1e9, 1e8, 1.0, 0.5),   // 10 FLOP/B, 1 TFLOP/s; cuDNN 2
      row(Op::bn, Math::fp32, 0, 4e8, 0.2),            // memory-bound: no place here
      row(Op::gemm, Math::tf32, 4e10, 1e8, 0.4),       // 400 FLOP/B, 100 TFLOP/s
  }));
  ASSERT_EQ(series.size(), 5u);
  const double fp32 = 132 * 1.98e9 * 256 / 1e12, tf32 = 132 * 1.98e9 * 2048 / 1e12;

  const Series& roof = series[0];
  EXPECT_EQ(roof.label, "fp32 roof: 66.9 TFLOP/s, 3000 GB/s");
  EXPECT_FALSE(roof.points);
  ASSERT_EQ(roof.x.size(), 3u);
  const double ridge = fp32 * 1e12 / 3e12;
  EXPECT_NEAR(roof.x[0], 10.0 / 10, 1e-9);  // a decade left of the lowest dot or ridge
  EXPECT_NEAR(roof.y[0], 3e12 * roof.x[0] / 1e12, 1e-9);  // on the bandwidth slope
  EXPECT_NEAR(roof.x[1], ridge, 1e-9);
  EXPECT_NEAR(roof.y[1], fp32, 1e-9);
  EXPECT_NEAR(roof.x[2], 400.0 * 10, 1e-9);  // a decade right of the highest
  EXPECT_EQ(series[1].x.front(), roof.x.front());  // both roofs span the same range
  EXPECT_EQ(series[1].x.back(), roof.x.back());
  EXPECT_NEAR(roof.y[2], fp32, 1e-9);
  EXPECT_TRUE(series[1].label.starts_with("tf32 roof"));
  EXPECT_NEAR(series[1].y[1], tf32, 1e-9);

  const Series* ours = find(series, "conv fp32: danlu");
  const Series* cudnn = find(series, "conv fp32: cuDNN");
  ASSERT_TRUE(ours && cudnn);
  EXPECT_TRUE(ours->points);
  EXPECT_EQ(ours->x, (std::vector<double>{200, 10}));
  EXPECT_EQ(ours->y, (std::vector<double>{20, 1}));
  EXPECT_EQ(cudnn->x, ours->x);
  EXPECT_EQ(cudnn->y, (std::vector<double>{40, 2}));
  const Series* gemm = find(series, "gemm tf32: danlu");
  ASSERT_TRUE(gemm);
  EXPECT_EQ(gemm->y, std::vector<double>{100});
  EXPECT_EQ(find(series, "bn fp32: danlu"), nullptr);
}

TEST(RooflinePlot, OnlyTheMathModesMeasuredGetARoof) {
  const auto series = roofline_series(h100({row(Op::conv, Math::fp32, 2e9, 1e7, 0.1)}));
  ASSERT_EQ(series.size(), 2u);
  EXPECT_TRUE(series[0].label.starts_with("fp32 roof"));
  EXPECT_EQ(series[1].label, "conv fp32: danlu");
}

TEST(RooflinePlot, NothingToPlaceIsAOneLineError) {
  try {
    roofline_series(h100({row(Op::bn, Math::fp32, 0, 4e8, 0.2)}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--ops conv,gemm"), std::string::npos) << e.what();
  }
}

class RooflinePicture : public testing::TestDirectory {};

TEST_F(RooflinePicture, IsWritten) {
  if (!plotting_available()) GTEST_SKIP() << "built without PLplot";
  const std::string path = (dir_ / "roofline.png").string();
  ASSERT_TRUE(write_roofline(path, h100({row(Op::conv, Math::fp32, 2e9, 1e7, 0.1, 0.05),
                                         row(Op::gemm, Math::tf32, 4e10, 1e8, 0.4)})));
  std::ifstream in(path, std::ios::binary);
  const std::string png{std::istreambuf_iterator<char>(in), {}};
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

}  // namespace
}  // namespace danlu::cli
