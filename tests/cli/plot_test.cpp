// The CLI's PNG line plots: where the y axis starts and ends, the PNG's
// header, and curves cut at the frame when the y axis is limited.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "cli/plot.h"

namespace danlu::cli {
namespace {

// Ticks are evenly spaced, the first at or below the data, the last at or above.
void expect_axis_covers(const std::vector<double>& t, double y_min, double y_max) {
  ASSERT_GE(t.size(), 2u);
  EXPECT_LE(t.front(), y_min);
  EXPECT_GE(t.back(), y_max);
  for (size_t i = 1; i < t.size(); ++i) EXPECT_NEAR(t[i] - t[i - 1], t[1] - t[0], 1e-9);
}

TEST(PlotAxis, FittedAxisShowsWhereTheCurvesAre) {
  PlotOptions o;
  o.y_from_zero = false;  // accuracy in percent over a run: 72% to 96.24%
  const std::vector<double> t = y_axis_ticks(72.0, 96.24, o, 0.2);
  expect_axis_covers(t, 72.0, 96.24);
  EXPECT_GE(t.front(), 65.0);   // not from 0: a point of accuracy stays visible
  EXPECT_LE(t.back(), 110.0);   // the legend's room, no more
}

TEST(PlotAxis, LinearAxisStartsAtZeroByDefault) {
  const PlotOptions o;
  const std::vector<double> t = y_axis_ticks(0.3, 2.1, o, 0.2);
  expect_axis_covers(t, 0.3, 2.1);
  EXPECT_EQ(t.front(), 0.0);
  // Values below zero extend it downwards.
  expect_axis_covers(y_axis_ticks(-2.0, 1.0, o, 0.2), -2.0, 1.0);
}

TEST(PlotAxis, HeadroomLeavesTheTopForTheLegend) {
  const PlotOptions o;
  const std::vector<double> t = y_axis_ticks(0.0, 1.0, o, 0.5);
  EXPECT_GE(t.back(), 2.0);  // the data fill at most the lower half
}

TEST(PlotAxis, FlatAndLogAxes) {
  PlotOptions o;
  o.y_from_zero = false;
  expect_axis_covers(y_axis_ticks(5.0, 5.0, o, 0.2), 5.0, 5.0);  // one value
  o.log_y = true;  // lr from 1e-4 to 1e-1, in log10 units
  expect_axis_covers(y_axis_ticks(-4.0, -1.0, o, 0.2), -4.0, -1.0);
}

TEST(PlotPng, HeaderGivesTheSize) {
  PlotOptions o;
  o.width = 320, o.height = 200;
  const std::vector<uint8_t> png = line_plot_png({{"test", {91.0, 93.5, 94.7}, {}}}, o);
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(std::vector<uint8_t>(png.begin(), png.begin() + 8),
            (std::vector<uint8_t>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}));
  const auto be32 = [&](size_t at) {
    return uint32_t(png[at]) << 24 | uint32_t(png[at + 1]) << 16 | uint32_t(png[at + 2]) << 8 |
           uint32_t(png[at + 3]);
  };
  EXPECT_EQ(be32(16), 320u);  // IHDR: width, height
  EXPECT_EQ(be32(20), 200u);
}

// The PNG's pixel rows (8-bit RGB, one filter byte before each row).
std::vector<std::vector<uint8_t>> png_rows(const std::vector<uint8_t>& png, int width, int height) {
  // The IDAT chunk follows the signature (8 bytes) and IHDR (25 bytes).
  const size_t length = size_t(png[33]) << 24 | size_t(png[34]) << 16 | size_t(png[35]) << 8 |
                        size_t(png[36]);
  std::vector<uint8_t> raw(size_t(width * 3 + 1) * height);
  uLongf raw_size = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &raw_size, &png[41], uLong(length)), Z_OK);
  std::vector<std::vector<uint8_t>> rows;
  for (int y = 0; y < height; ++y) {
    const auto row = raw.begin() + y * (width * 3 + 1) + 1;
    rows.emplace_back(row, row + width * 3);
  }
  return rows;
}

TEST(PlotPng, YLimitsCutTheCurveAtTheFrame) {
  PlotOptions o;
  o.width = 320, o.height = 200, o.y_label = "";
  // A curve that ends by shooting up to 2500 at the right edge.
  const Series explosion{"loss", {1.0, 0.8, 0.7, 2500.0}, {}};
  const auto top_rows_blank = [&](const PlotOptions& options) {
    const auto rows = png_rows(line_plot_png({explosion}, options), options.width, options.height);
    for (int y = 0; y < 10; ++y)  // above the frame and its top tick label
      for (uint8_t v : rows[y])
        if (v != 255) return false;
    return true;
  };
  o.y_lo = 0.5, o.y_hi = 1.2, o.y_from_zero = false;
  EXPECT_TRUE(top_rows_blank(o));
}

}  // namespace
}  // namespace danlu::cli
