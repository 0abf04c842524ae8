// SampledCurve: a curve of any length in bounded memory that keeps its
// envelope (the failure it prevents: `danlu schedule --steps 1e9` held every
// step in memory and hung).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cli/plot_sample.h"

namespace danlu::cli {
namespace {

TEST(PlotSample, ShortCurvesAreKeptWhole) {
  SampledCurve c(8);
  for (int i = 0; i < 5; ++i) c.add(i, i * i);
  const Series s = c.series("x");
  EXPECT_EQ(s.x, (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(s.y, (std::vector<double>{0, 1, 4, 9, 16}));
}

TEST(PlotSample, MillionsOfPointsKeepBoundedMemoryAndTheEnvelope) {
  SampledCurve c(64);
  // A cycle of 10 steps, far shorter than a bucket at the end: the plot must
  // still reach 0 and 1, and end near the last step.
  const int64_t n = 3'000'000;
  for (int64_t t = 0; t < n; ++t) c.add(double(t), (t % 10) / 9.0);
  const Series s = c.series("cyclic");
  EXPECT_LE(s.y.size(), 128u);
  EXPECT_EQ(*std::min_element(s.y.begin(), s.y.end()), 0.0);
  EXPECT_EQ(*std::max_element(s.y.begin(), s.y.end()), 1.0);
  EXPECT_TRUE(std::is_sorted(s.x.begin(), s.x.end()));
  EXPECT_GT(s.x.back(), double(n) * 0.95);
}

TEST(PlotSample, ASpikeInsideABucketSurvives) {
  SampledCurve c(16);
  for (int t = 0; t < 100000; ++t) c.add(t, t == 54321 ? 50.0 : 1.0);
  const Series s = c.series("spike");
  EXPECT_NE(std::find(s.y.begin(), s.y.end(), 50.0), s.y.end());
  EXPECT_NE(std::find(s.x.begin(), s.x.end(), 54321.0), s.x.end());
}

}  // namespace
}  // namespace danlu::cli
