// The table and JSON forms of a profile.
#include "profiler/report.h"

#include <algorithm>
#include <cstdio>

#include "engine/printf_string.h"

namespace danlu::profiler {

namespace {

nlohmann::json or_null(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json positive_or_null(double v) { return v > 0 ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string achieved(const Row& row) {
  return compute_bound(row.op) ? printf_string("%.2f TFLOP/s", row.tflops())
                               : printf_string("%.1f GB/s", row.gbps());
}

}  // namespace

std::optional<double> Row::ratio() const {
  if (!vendor_time || vendor_time->median_ms <= 0) return std::nullopt;
  return ours.median_ms / vendor_time->median_ms;
}
double Row::tflops() const { return ours.median_ms > 0 ? cost.flops / (ours.median_ms * 1e9) : 0; }
double Row::gbps() const { return ours.median_ms > 0 ? cost.bytes / (ours.median_ms * 1e6) : 0; }

std::string cuda_version_string(int version) {
  return printf_string("%d.%d", version / 1000, version % 1000 / 10);
}

std::string format_header(const Report& r) {
  const DeviceInfo& d = r.device;
  const Roofline& f = r.roofline;
  std::string out = printf_string(
      "danlu profile: %s (cuda:%d, sm_%d%d, %d SMs, %.0f MHz), driver %s, runtime %s\n"
      "  %d timed launches per kernel after %d warm-up, L2 flushed before each; %s\n",
      d.name.c_str(), d.index, d.major, d.minor, d.sm_count, d.clock_khz / 1e3,
      cuda_version_string(d.driver_version).c_str(), cuda_version_string(d.runtime_version).c_str(),
      r.iters, r.warmup, r.date.c_str());
  out += printf_string(
      "roofline: bandwidth %.1f GB/s = 2 x %.0f MiB / %.4f ms (fastest device-to-device copy, "
      "read + write)\n",
      f.bandwidth / 1e9, r.copy_bytes / 1048576.0, r.copy.min_ms);
  if (!f.arch) {
    out += printf_string(
        "  sm_%d%d is not in the architecture table: no FP32/TF32 peak, so conv and gemm "
        "fractions print -\n",
        d.major, d.minor);
  } else {
    out += printf_string("  FP32 peak %d SMs x %.0f MHz x %.0f FLOP/SM/clock = %.1f TFLOP/s\n",
                  f.sm_count, f.clock_khz / 1e3, f.arch->fp32, f.peak_fp32() / 1e12);
    if (f.arch->tf32 > 0)
      out += printf_string("  TF32 peak %d SMs x %.0f MHz x %.0f FLOP/SM/clock = %.1f TFLOP/s (dense)\n",
                    f.sm_count, f.clock_khz / 1e3, f.arch->tf32, f.peak_tf32() / 1e12);
    else
      out += printf_string("  TF32 peak: not in the table for sm_%d%d, tf32 fractions print -\n",
                    d.major, d.minor);
  }
  for (const std::string& note : r.notes) out += "note: " + note + "\n";
  return out;
}

std::string format_table(const Report& r) {
  std::vector<std::vector<std::string>> cells = {{"op", "direction", "shape", "math", "kernel",
                                                  "ours ms (median/min)", "vendor ms",
                                                  "ours/vendor", "achieved", "roofline"}};
  for (const Row& row : r.rows) {
    const std::optional<double> ratio = row.ratio();
    cells.push_back({op_name(row.op), direction_name(row.direction), row.shape,
                     math_name(row.math), row.kernel.empty() ? "-" : row.kernel,
                     printf_string("%.4f/%.4f", row.ours.median_ms, row.ours.min_ms),
                     row.vendor_time ? printf_string("%.4f %s", row.vendor_time->median_ms,
                                              row.vendor.c_str())
                                     : "-",
                     ratio ? printf_string("%.2f", *ratio) : "-", achieved(row),
                     row.fraction ? printf_string("%.1f%%", 100 * *row.fraction) : "-"});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& line : cells)
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t c = 0; c < line.size(); ++c) {
      const bool numeric = c >= 5;  // numbers align right, names left
      const std::string pad(width[c] - line[c].size(), ' ');
      text += (c ? "  " : "") + (numeric ? pad + line[c] : line[c] + pad);
    }
    out += text.substr(0, text.find_last_not_of(' ') + 1) + "\n";
  }
  return out;
}

nlohmann::json to_json(const Report& r) {
  using nlohmann::json;
  const DeviceInfo& d = r.device;
  const Roofline& f = r.roofline;
  json rows = json::array();
  for (const Row& row : r.rows) {
    rows.push_back({
        {"op", op_name(row.op)},
        {"direction", direction_name(row.direction)},
        {"shape", row.shape},
        {"math", math_name(row.math)},
        {"kernel", row.kernel.empty() ? json(nullptr) : json(row.kernel)},
        {"bound", compute_bound(row.op) ? "compute" : "memory"},
        {"flops", row.cost.flops},
        {"bytes", row.cost.bytes},
        {"ours_median_ms", row.ours.median_ms},
        {"ours_min_ms", row.ours.min_ms},
        {"vendor", row.vendor_time ? json(row.vendor) : json(nullptr)},
        {"vendor_median_ms", row.vendor_time ? json(row.vendor_time->median_ms) : json(nullptr)},
        {"vendor_min_ms", row.vendor_time ? json(row.vendor_time->min_ms) : json(nullptr)},
        {"ratio_ours_vendor", or_null(row.ratio())},
        {"tflops", row.tflops()},
        {"gbps", row.gbps()},
        {"roofline_fraction", or_null(row.fraction)},
    });
  }
  return {
      {"danlu_version", r.danlu_version},
      {"date", r.date},
      {"iters", r.iters},
      {"warmup", r.warmup},
      {"device",
       {{"name", d.name},
        {"index", d.index},
        {"compute_capability", printf_string("%d.%d", d.major, d.minor)},
        {"sm_count", d.sm_count},
        {"clock_mhz", d.clock_khz / 1e3},
        {"memory_clock_mhz", positive_or_null(d.memory_clock_khz / 1e3)},
        {"driver_version", cuda_version_string(d.driver_version)},
        {"runtime_version", cuda_version_string(d.runtime_version)}}},
      {"roofline",
       {{"bandwidth_gbps", f.bandwidth / 1e9},
        {"copy_bytes", r.copy_bytes},
        {"copy_min_ms", r.copy.min_ms},
        {"copy_median_ms", r.copy.median_ms},
        {"arch_in_table", f.arch.has_value()},
        {"fp32_flops_per_sm_per_clock", f.arch ? positive_or_null(f.arch->fp32) : json(nullptr)},
        {"tf32_flops_per_sm_per_clock", f.arch ? positive_or_null(f.arch->tf32) : json(nullptr)},
        {"peak_fp32_tflops", positive_or_null(f.peak_fp32() / 1e12)},
        {"peak_tf32_tflops", positive_or_null(f.peak_tf32() / 1e12)}}},
      {"notes", r.notes},
      {"rows", rows},
  };
}

}  // namespace danlu::profiler
