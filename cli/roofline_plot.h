// `danlu profile --roofline FILE`: the profiled compute-bound kernels (conv,
// GEMM: those with a FLOP count) as dots at (arithmetic intensity, achieved
// TFLOP/s) under the roofs of the device they ran on: min(peak arithmetic,
// measured bandwidth x intensity), one roof per math mode measured. Each
// vendor kernel timed on the same work is a dot at the same intensity, so
// the gap between the two reads off vertically. Memory-bound kernels have
// no FLOPs to place; their fraction of the copy bandwidth is in the table.
#pragma once

#include <string>
#include <vector>

#include "cli/plot.h"
#include "profiler/report.h"

namespace danlu::cli {

// The chart's series: the roofs first (fp32, then tf32 where it was
// measured and its peak is known), then one dot series per kind of kernel
// (op, math, and which of danlu's kernels ran, such as a conv rung, or the
// vendor's), in the rows' order. x is
// FLOP per byte of compulsory traffic, y TFLOP/s.
std::vector<Series> roofline_series(const profiler::Report& report);

// Draws them (PNG or SVG by the extension); false when built without PLplot.
// Throws danlu::Error when no row has a FLOP count.
bool write_roofline(const std::string& path, const profiler::Report& report);

}  // namespace danlu::cli
