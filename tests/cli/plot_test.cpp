// The CLI's plotting module: where the y axis starts and ends, and each
// writer's file (PNG of the requested size, SVG, heatmap, image grid), its
// errors, and what it says when built without PLplot.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/plot.h"
#include "engine/error.h"
#include "tests/support/test_directory.h"

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

// The pictures themselves need PLplot; without it each writer says so and
// writes nothing, which the last test checks.
class PlotFile : public testing::TestDirectory {
 protected:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Big-endian 32-bit word at `at`.
  static uint32_t be32(const std::string& b, size_t at) {
    return uint32_t(uint8_t(b[at])) << 24 | uint32_t(uint8_t(b[at + 1])) << 16 |
           uint32_t(uint8_t(b[at + 2])) << 8 | uint32_t(uint8_t(b[at + 3]));
  }
};

#define SKIP_WITHOUT_PLPLOT() \
  if (!plotting_available()) GTEST_SKIP() << "built without PLplot"

TEST_F(PlotFile, LinePlotIsAPngOfTheRequestedSize) {
  SKIP_WITHOUT_PLPLOT();
  PlotOptions o;
  o.width = 320, o.height = 200;
  ASSERT_TRUE(write_line_plot(path("a.png"), {{"test", {91.0, 93.5, 94.7}, {}}}, o));
  const std::string png = read(path("a.png"));
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(png, 16), 320u);
  EXPECT_EQ(be32(png, 20), 200u);
  EXPECT_EQ(png.substr(png.size() - 8, 4), "IEND");
}

TEST_F(PlotFile, SvgByTheExtensionWithTheLabelsAsText) {
  SKIP_WITHOUT_PLPLOT();
  PlotOptions o;
  o.title = "loss of 3.layers.0.linear1";
  ASSERT_TRUE(write_line_plot(path("a.svg"), {{"train", {2.3, 1.1, 0.6}, {}}}, o));
  const std::string svg = read(path("a.svg"));
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_GT(svg.size(), 1000u);
}

TEST_F(PlotFile, HeatmapAndImageGridAreDrawn) {
  SKIP_WITHOUT_PLPLOT();
  Heatmap h;
  h.rows = {"0 (Conv2d)", "3 (Linear)"};
  h.x = {100, 200, 300};
  h.z = {{1e-3, 2e-3, NAN}, {0.5, 0.25, 0.125}};
  h.log_z = true;
  ASSERT_TRUE(write_heatmap(path("h.png"), h));
  EXPECT_GT(read(path("h.png")).size(), 1000u);
  h.columns = {"xavier @1", "xavier @100", "kaiming @1"};  // named columns instead of x
  ASSERT_TRUE(write_heatmap(path("named.svg"), h));
  EXPECT_NE(read(path("named.svg")).find("<svg"), std::string::npos);

  ImageGrid g;
  g.row_labels = {"xavier", "kaiming"}, g.column_labels = {"input", "map 0"};
  const Image im{2, 3, {0, 1, 2, 3, 4, 5}, 0, 5};
  g.cells = {{im, im}, {im, im}};
  ASSERT_TRUE(write_image_grid(path("g.png"), g));
  EXPECT_EQ(read(path("g.png")).substr(1, 3), "PNG");
}

TEST_F(PlotFile, BadInputIsAOneLineErrorAndLeavesNoFile) {
  PlotOptions o;
  EXPECT_THROW(write_line_plot(path("nan.png"), {{"loss", {NAN, NAN}, {}}}, o), Error);
  o.width = 10;
  EXPECT_THROW(write_line_plot(path("small.png"), {{"loss", {1, 2}, {}}}, o), Error);
  Heatmap ragged;
  ragged.rows = {"a"}, ragged.x = {1, 2}, ragged.z = {{1}};
  if (plotting_available()) {
    EXPECT_THROW(write_heatmap(path("ragged.png"), ragged), Error);
    EXPECT_THROW(write_line_plot(path("a.jpg"), {{"loss", {1, 2}, {}}}, PlotOptions{}), Error);
    // PLplot would end the process on a file it cannot open: the writer checks first.
    EXPECT_THROW(write_line_plot(path("no/such/dir/a.png"), {{"loss", {1, 2}, {}}}, PlotOptions{}),
                 Error);
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_))
    ADD_FAILURE() << "left behind: " << entry.path();
}

TEST_F(PlotFile, WithoutPlplotTheWriterSaysHowToGetPictures) {
  if (plotting_available()) GTEST_SKIP() << "built with PLplot";
  ::testing::internal::CaptureStdout();
  EXPECT_FALSE(write_line_plot(path("a.png"), {{"loss", {1, 2}, {}}}, PlotOptions{}));
  const std::string said = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(said.find("libplplot-dev"), std::string::npos) << said;
  EXPECT_FALSE(std::filesystem::exists(path("a.png")));
}

}  // namespace
}  // namespace danlu::cli
