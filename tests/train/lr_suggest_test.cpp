// The LR range test's suggestion rules on synthetic curves over 1e-7 .. 10:
// a clean valley, NaN and inf points and an explosion, a warm-up transient
// (the reported bug: the first rate tried came out as the steepest), a flat
// start, noise, and curves with nothing to suggest.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "train/lr_suggest.h"

namespace danlu::train {
namespace {

constexpr size_t kPoints = 100;

double log10_lr(size_t i) { return -7 + 8 * double(i) / double(kPoints - 1); }

std::vector<double> rates() {
  std::vector<double> lrs;
  for (size_t i = 0; i < kPoints; ++i) lrs.push_back(std::pow(10.0, log10_lr(i)));
  return lrs;
}

// Flat at 2.3 up to lr 1e-4, a smooth fall to 0.3 at lr 10^-1.5 (steepest
// at 10^-2.75), then a quadratic rise that passes 4x the minimum near 0.15.
double valley_curve(double x) {
  if (x < -4) return 2.3;
  if (x < -1.5) {
    const double t = (x + 4) / 2.5;
    return 2.3 - 2 * t * t * (3 - 2 * t);
  }
  return 0.3 + 2 * (x + 1.5) * (x + 1.5);
}

std::vector<double> clean_valley() {
  std::vector<double> y;
  for (size_t i = 0; i < kPoints; ++i) y.push_back(valley_curve(log10_lr(i)));
  return y;
}

const SuggestOptions kOptions{10, 4};  // as lr-find's 100 iterations

void expect_near_decades(double lr, double log10_expected, double decades) {
  EXPECT_NEAR(std::log10(lr), log10_expected, decades) << "lr " << lr;
}

TEST(LrSuggest, CleanValleyTheThreeRulesAgree) {
  const LrSuggestions s = suggest_lrs(rates(), clean_valley(), kOptions);
  ASSERT_EQ(s.none, "");
  expect_near_decades(s.steepest, -2.75, 0.1);
  expect_near_decades(s.min_lr, -1.5, 0.1);
  expect_near_decades(s.min_over_10(), -2.5, 0.1);
  expect_near_decades(s.valley, -2.75, 0.15);  // halfway into the fall from 1e-4 to 10^-1.5
  EXPECT_LT(s.spread(), 3);
  EXPECT_EQ(s.first, 10u);                         // the warm-up: a tenth of the points
  EXPECT_NEAR(log10_lr(s.end), -0.83, 0.1);  // cut where the rise passes 4 x 0.3
}

TEST(LrSuggest, RecommendsTheMiddleOfTheThree) {
  LrSuggestions s;
  s.steepest = 1e-3, s.min_lr = 1e-1, s.valley = 3e-3;
  EXPECT_DOUBLE_EQ(s.recommended(), 3e-3);
  EXPECT_STREQ(s.recommended_rule(), "valley");
  EXPECT_DOUBLE_EQ(s.spread(), 10);
  s.valley = 1e-1;
  EXPECT_DOUBLE_EQ(s.recommended(), 1e-2);
  EXPECT_STREQ(s.recommended_rule(), "min/10");
}

TEST(LrSuggest, NanAndInfAreDroppedAndTheExplosionIsNotRead) {
  std::vector<double> y = clean_valley();
  const LrSuggestions clean = suggest_lrs(rates(), y, kOptions);
  // The explosion comes sooner than the clean curve's cut (point 77).
  y[30] = NAN, y[55] = INFINITY;
  for (size_t i = 74; i < kPoints; ++i) y[i] = i < 90 ? 2500.0 * double(i - 73) : NAN;
  const LrSuggestions s = suggest_lrs(rates(), y, kOptions);
  ASSERT_EQ(s.none, "");
  EXPECT_EQ(clean.end, 77u);
  EXPECT_EQ(s.end, 74u);
  expect_near_decades(s.steepest, std::log10(clean.steepest), 0.1);
  EXPECT_DOUBLE_EQ(s.min_lr, clean.min_lr);
  expect_near_decades(s.valley, std::log10(clean.valley), 0.1);
}

// The reported bug: the first losses of a run are one batch each (the
// moving average has not settled) and fall fast at lr 1e-7, where training
// does nothing; the old rule named that first rate the steepest.
TEST(LrSuggest, SteepestIsNeverTheFirstRateNorInTheBlowUp) {
  std::vector<double> y = clean_valley();
  y[0] = 3.4, y[1] = 2.9, y[2] = 2.6, y[3] = 2.4;
  const std::vector<double> lrs = rates();
  const LrSuggestions s = suggest_lrs(lrs, y, kOptions);
  ASSERT_EQ(s.none, "");
  EXPECT_GT(s.steepest, lrs[3]);
  EXPECT_LT(s.steepest, lrs[s.end - 1]);
  expect_near_decades(s.steepest, -2.75, 0.1);
}

TEST(LrSuggest, FlatStartThenAFallWithoutBlowUp) {
  // The loss does nothing up to lr 1e-2 and falls to the end of the sweep.
  std::vector<double> y;
  for (size_t i = 0; i < kPoints; ++i) {
    const double x = log10_lr(i);
    y.push_back(x < -2 ? 2.3 : 2.3 - 0.6 * (x + 2));
  }
  const std::vector<double> lrs = rates();
  const LrSuggestions s = suggest_lrs(lrs, y, kOptions);
  ASSERT_EQ(s.none, "");
  EXPECT_EQ(s.end, kPoints);
  EXPECT_GT(s.steepest, 1e-2);
  EXPECT_DOUBLE_EQ(s.min_lr, lrs.back());
  EXPECT_GT(s.valley, 1e-2);
}

// Noise of 0.1 on every batch's loss, smoothed as lr-find smooths it.
TEST(LrSuggest, NoisyCurveStaysInTheFall) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.1);
  const std::vector<double> clean = clean_valley();
  std::vector<double> smoothed;
  double average = 0;
  for (size_t i = 0; i < kPoints; ++i) {
    average = 0.98 * average + 0.02 * (clean[i] + noise(rng));
    smoothed.push_back(average / (1 - std::pow(0.98, double(i + 1))));
  }
  const LrSuggestions s = suggest_lrs(rates(), smoothed, kOptions);
  ASSERT_EQ(s.none, "");
  // The average lags the curve (by about a decade at the far end); every
  // rule lands in the fall (1e-4 .. 10^-1.5) or just after it, none in the
  // flat start, and the middle one within a decade past the clean curve's
  // steepest fall (10^-2.75).
  for (double lr : {s.steepest, s.min_over_10(), s.valley}) {
    EXPECT_GT(lr, 1e-4);
    EXPECT_LT(lr, 1e-1);
  }
  EXPECT_GT(s.recommended(), 3e-3);
  EXPECT_LT(s.recommended(), 3e-2);
}

TEST(LrSuggest, TooFewPointsOrNoFallGiveNoSuggestion) {
  const std::vector<double> lrs = {1e-3, 1e-2, 1e-1, 1};
  const LrSuggestions few = suggest_lrs(lrs, {2.3, 2.0, 1.5, 1.2}, {});
  EXPECT_EQ(few.none,
            "usable points past the warm-up and before the blow-up: 4 (at least 5 needed); "
            "raise --iters or lower --start");
  const LrSuggestions rising = suggest_lrs(rates(), std::vector<double>(kPoints, 2.3), kOptions);
  EXPECT_NE(rising.none.find("the smoothed loss never fell"), std::string::npos) << rising.none;
  // A blow-up after four points leaves too few, however long the run.
  std::vector<double> early(kPoints, 1e4);
  early[0] = 3, early[1] = 2.9, early[2] = 2.8, early[3] = 2.7;
  EXPECT_NE(suggest_lrs(rates(), early, {}).none.find("blow-up: 4 (at least 5"), std::string::npos);
}

TEST(LrSuggest, UsefulRangeCutsTheExplosion) {
  std::vector<double> smoothed = clean_valley();
  smoothed.push_back(2500), smoothed.push_back(NAN);
  std::vector<double> losses = smoothed;
  const LossRange r = useful_loss_range(losses, smoothed);
  EXPECT_NEAR(r.hi, 2.3 * 1.5, 1e-12);
  EXPECT_LT(r.lo, 0.3);
  EXPECT_GT(r.lo, 0.1);  // a margin of a twentieth of the range
  // A raw loss below the smoothed curve stays in view.
  losses[70] = 0.05;
  EXPECT_LT(useful_loss_range(losses, smoothed).lo, 0.05);
  EXPECT_GE(useful_loss_range(losses, smoothed).lo, 0.0);
}

}  // namespace
}  // namespace danlu::train
