// The LR range test's suggestion rules, after fastai's `steep`, `minimum`
// and `valley` (fastai/callback/schedule.py) and torch-lr-finder's gradient
// of the smoothed loss.
#include "train/lr_suggest.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "engine/printf_string.h"

namespace danlu::train {

namespace {

// The points worth reading: finite, past the warm-up, and before the first
// whose smoothed loss passes `blowup` times the best before it.
std::vector<size_t> usable_points(const std::vector<double>& lrs,
                                  const std::vector<double>& smoothed, const SuggestOptions& o) {
  std::vector<size_t> kept;
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < smoothed.size(); ++i) {
    if (!std::isfinite(smoothed[i]) || !std::isfinite(lrs[i]) || lrs[i] <= 0) continue;
    if (smoothed[i] > o.blowup * best) break;
    best = std::min(best, smoothed[i]);
    if (i >= o.skip_start) kept.push_back(i);
  }
  return kept;
}

// dy/dx as numpy.gradient: second-order central differences inside (for
// uneven steps too), one-sided at the ends.
std::vector<double> gradient(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = y.size();
  std::vector<double> g(n);
  g[0] = (y[1] - y[0]) / (x[1] - x[0]);
  g[n - 1] = (y[n - 1] - y[n - 2]) / (x[n - 1] - x[n - 2]);
  for (size_t i = 1; i + 1 < n; ++i) {
    const double a = x[i] - x[i - 1], b = x[i + 1] - x[i];
    g[i] = (a * a * y[i + 1] - b * b * y[i - 1] + (b * b - a * a) * y[i]) / (a * b * (a + b));
  }
  return g;
}

// fastai's valley: the longest strictly decreasing subsequence of the curve
// (its length ending at each point, by patience sorting), taken as the run of
// points ending where it ends; the rate a third plus a sixth of the way in,
// i.e. about halfway, as fastai's code picks it.
size_t valley_index(const std::vector<double>& y) {
  std::vector<double> tails;  // tails[k]: the largest last value of a run of length k + 1
  size_t longest = 0, end = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    // Runs whose last value is above y[i] extend; tails decrease with k.
    const auto at = std::lower_bound(tails.begin(), tails.end(), y[i], std::greater<double>());
    const size_t length = size_t(at - tails.begin()) + 1;
    if (at == tails.end()) tails.push_back(y[i]);
    else *at = y[i];
    if (length > longest) longest = length, end = i;
  }
  const size_t start = end + 1 - longest;
  const double sections = double(end - start) / 3;
  return start + size_t(sections) + size_t(sections / 2);
}

}  // namespace

double LrSuggestions::spread() const {
  return std::max({steepest, min_over_10(), valley}) / std::min({steepest, min_over_10(), valley});
}

double LrSuggestions::recommended() const {
  std::array<double, 3> rates{steepest, min_over_10(), valley};
  std::sort(rates.begin(), rates.end());
  return rates[1];
}

const char* LrSuggestions::recommended_rule() const {
  const double r = recommended();
  return r == valley ? "valley" : r == steepest ? "steepest" : "min/10";
}

LrSuggestions suggest_lrs(const std::vector<double>& lrs, const std::vector<double>& smoothed,
                          const SuggestOptions& o) {
  LrSuggestions s;
  const std::vector<size_t> kept = usable_points(lrs, smoothed, o);
  if (kept.size() < kMinSuggestPoints) {
    s.none = printf_string("usable points past the warm-up and before the blow-up: %zu "
                           "(at least %zu needed); raise --iters or lower --start",
                           kept.size(), kMinSuggestPoints);
    return s;
  }
  s.first = kept.front(), s.end = kept.back() + 1;
  std::vector<double> x, y;
  for (size_t i : kept) x.push_back(std::log(lrs[i])), y.push_back(smoothed[i]);
  const std::vector<double> slope = gradient(x, y);
  const size_t steepest = size_t(std::min_element(slope.begin(), slope.end()) - slope.begin());
  const size_t lowest = size_t(std::min_element(y.begin(), y.end()) - y.begin());
  if (!(y[lowest] < y.front() && slope[steepest] < 0)) {
    s.none = printf_string("the smoothed loss never fell between lr %g and %g; lower --start",
                           lrs[kept.front()], lrs[kept.back()]);
    return s;
  }
  s.steepest = lrs[kept[steepest]];
  s.min_lr = lrs[kept[lowest]];
  s.valley = lrs[kept[valley_index(y)]];
  return s;
}

LossRange useful_loss_range(const std::vector<double>& losses,
                            const std::vector<double>& smoothed) {
  double first = NAN, lo = std::numeric_limits<double>::infinity();
  for (double v : smoothed)
    if (std::isfinite(v)) {
      if (std::isnan(first)) first = v;
      lo = std::min(lo, v);
    }
  if (std::isnan(first)) return {};
  for (double v : losses)
    if (std::isfinite(v)) lo = std::min(lo, v);
  LossRange r{lo, std::max(first + std::abs(first) / 2, lo + 1e-6)};
  r.lo -= (r.hi - lo) / 20;  // the minimum stays off the frame
  if (lo >= 0) r.lo = std::max(r.lo, 0.0);
  return r;
}

}  // namespace danlu::train
