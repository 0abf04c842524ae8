#include "cli/roofline_plot.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/error.h"
#include "engine/printf_string.h"

namespace danlu::cli {

namespace {

using profiler::Math;
using profiler::Report;
using profiler::Row;

bool placeable(const Row& row) {
  return profiler::compute_bound(row.op) && row.cost.flops > 0 && row.cost.bytes > 0 &&
         row.ours.median_ms > 0;
}

// Appends (x, y) to the dot series called `label`, made on first use.
void add_dot(std::vector<Series>& dots, std::map<std::string, size_t>& index,
             const std::string& label, double x, double y) {
  auto [at, added] = index.try_emplace(label, dots.size());
  if (added) dots.push_back({label, {}, {}, true});
  dots[at->second].x.push_back(x);
  dots[at->second].y.push_back(y);
}

}  // namespace

std::vector<Series> roofline_series(const Report& report) {
  std::vector<Series> dots;
  std::map<std::string, size_t> index;
  bool math_seen[2] = {false, false};
  double x_lo = INFINITY, x_hi = 0;
  for (const Row& row : report.rows) {
    if (!placeable(row)) continue;
    const double x = row.cost.flops / row.cost.bytes;
    x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
    math_seen[row.math == Math::tf32] = true;
    const std::string kind = detail::concat(profiler::op_name(row.op), " ", profiler::math_name(row.math));
    add_dot(dots, index, kind + ": " + (row.kernel.empty() ? "danlu" : row.kernel), x,
            row.tflops());
    if (row.vendor_time && row.vendor_time->median_ms > 0)
      add_dot(dots, index, kind + ": " + row.vendor, x,
              row.cost.flops / (row.vendor_time->median_ms * 1e9));
  }
  DANLU_CHECK(!dots.empty(),
              "roofline: no profiled kernel has a FLOP count to place (profile conv or gemm: "
              "--ops conv,gemm)");

  // The roofs span a decade either side of the dots and of every ridge
  // (where the bandwidth slope meets the flat peak).
  const double bandwidth = report.roofline.bandwidth;  // bytes per second
  std::vector<Math> roofs;
  for (Math m : {Math::fp32, Math::tf32}) {
    const double peak = report.roofline.peak_flops(m);
    if (!math_seen[m == Math::tf32] || peak <= 0 || bandwidth <= 0) continue;
    roofs.push_back(m);
    x_lo = std::min(x_lo, peak / bandwidth), x_hi = std::max(x_hi, peak / bandwidth);
  }
  std::vector<Series> series;
  for (Math m : roofs) {
    const double peak = report.roofline.peak_flops(m), lo = x_lo / 10, hi = x_hi * 10;
    Series roof;
    roof.label = printf_string("%s roof: %.1f TFLOP/s, %.0f GB/s", profiler::math_name(m),
                               peak / 1e12, bandwidth / 1e9);
    roof.x = {lo, peak / bandwidth, hi};
    roof.y = {bandwidth * lo / 1e12, peak / 1e12, peak / 1e12};
    series.push_back(roof);
  }
  series.insert(series.end(), dots.begin(), dots.end());
  return series;
}

bool write_roofline(const std::string& path, const Report& report) {
  const std::vector<Series> series = roofline_series(report);
  PlotOptions o;
  o.width = 900;
  o.height = 520;
  o.log_x = o.log_y = true;
  o.x_label = "arithmetic intensity (FLOP per byte of compulsory traffic)";
  o.y_label = "TFLOP/s";
  o.title = report.device.name + ": each kernel against the roofline";
  return write_line_plot(path, series, o);
}

}  // namespace danlu::cli
