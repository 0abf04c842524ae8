// The plotting module's arithmetic, free of any drawing library: round tick
// values for the y axis, and the size check every writer shares.
#include <algorithm>
#include <cmath>

#include "cli/plot.h"
#include "engine/error.h"

namespace danlu::cli {

namespace {

// Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]. On a
// log axis spanning 2 decades or more, ticks fall on whole decades only.
std::vector<double> ticks(double lo, double hi, int target, bool log) {
  const double raw = std::max((hi - lo) / target, log && hi - lo >= 2 ? 1.0 : 0.0);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  std::vector<double> out;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; ++k)
    out.push_back(k * step);
  return out;
}

}  // namespace

std::vector<double> y_axis_ticks(double y_min, double y_max, const PlotOptions& o,
                                 double headroom) {
  double lo = o.log_y || !o.y_from_zero ? y_min : std::min(0.0, y_min), hi = y_max;
  if (hi <= lo) hi = lo + (lo == 0 ? 1 : std::abs(lo));
  hi = lo + (hi - lo) / (1 - headroom);
  // Both ends sit on ticks.
  std::vector<double> out = ticks(lo, hi, 5, o.log_y);
  const double step = out.size() > 1 ? out[1] - out[0] : hi - lo;
  if (out.empty()) out.push_back(lo);
  if (out.back() < hi - 1e-9 * step) out.push_back(out.back() + step);
  if (out.front() > lo + 1e-9 * step) out.insert(out.begin(), out.front() - step);
  return out;
}

void check_plot_size(int width, int height, const std::string& what) {
  DANLU_CHECK(width >= 160 && height >= 100 && width <= 8192 && height <= 8192, what,
              ": expected a size from 160x100 to 8192x8192, got ", width, "x", height);
}

}  // namespace danlu::cli
