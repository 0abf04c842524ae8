// The profiler's results: one row per (workload, direction, math), the
// device and roofline they were measured on, printed as an aligned table or
// written as JSON (fields in docs/performance.md, "Kernel profiler").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "profiler/costs.h"
#include "profiler/roofline.h"

namespace danlu::profiler {

struct Timing {
  double median_ms = 0, min_ms = 0;
};

struct Row {
  Op op = Op::conv;
  Direction direction = Direction::forward;
  Math math = Math::fp32;
  std::string shape;  // describe() of the workload
  std::string kernel;  // which of ours ran (a conv variant, "auto: 3 implicit GEMM"); "" for one kernel
  Cost cost;
  Timing ours;
  std::string vendor;                 // "cuDNN", or "" where no vendor kernel is wired
  std::optional<Timing> vendor_time;  // set when vendor is
  std::optional<double> fraction;     // of the roofline, from ours.median_ms

  std::optional<double> ratio() const;  // ours / vendor, medians
  double tflops() const;                // achieved, from the median
  double gbps() const;
};

struct DeviceInfo {
  std::string name;
  int index = 0;
  int major = 0, minor = 0;
  int sm_count = 0;
  double clock_khz = 0, memory_clock_khz = 0;
  int driver_version = 0, runtime_version = 0;  // CUDA's 1000 * major + 10 * minor
};

struct Report {
  std::string danlu_version, date;  // date: UTC, ISO 8601
  int iters = 0, warmup = 0;
  DeviceInfo device;
  Roofline roofline;
  double copy_bytes = 0;  // the bandwidth copy's buffer
  Timing copy;            // its times; the bandwidth uses the fastest
  std::vector<std::string> notes;  // what was left out and why
  std::vector<Row> rows;
};

// The lines above the table: device, clocks, and the roofline's arithmetic
// written out so a reader can check it.
std::string format_header(const Report& r);
// One aligned line per row under a header line.
std::string format_table(const Report& r);
nlohmann::json to_json(const Report& r);

// "13.0" from CUDA's 13000.
std::string cuda_version_string(int version);

}  // namespace danlu::profiler
