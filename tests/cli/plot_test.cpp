// The CLI's PNG line plots: where the y axis starts and ends, and the PNG's
// header.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace danlu::cli
