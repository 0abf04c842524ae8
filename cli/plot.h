// A small PNG line-plot writer for the CLI (`danlu schedule --plot`, `danlu
// plot`, `danlu lr-find`): curves on one chart with linear or log axes, tick
// labels, a legend and optional vertical markers, drawn on an RGB raster with
// a built-in 5x7 font and encoded with zlib.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace danlu::cli {

struct Series {
  std::string label;
  std::vector<double> y;
  std::vector<double> x;  // y[i] is drawn at x[i], or at x = i when x is empty
};

struct PlotOptions {
  int width = 480;
  int height = 240;
  std::string x_label = "step";
  std::string y_label = "lr";
  std::string title;  // none when empty
  bool log_x = false, log_y = false;  // base-10 axes (non-positive values are skipped)
  bool y_from_zero = true;            // a linear y axis starts at 0 (else it fits the data)
  // When both are finite, the y axis spans [y_lo, y_hi] (out to round ticks
  // and the legend's room, from 0 unless y_from_zero is off) whatever the
  // data, and curves are cut at the frame: an explosion cannot squash the rest.
  double y_lo = NAN, y_hi = NAN;
  std::vector<double> marks_x;        // vertical marker lines at these x values
};

// Throws unless the options' size is one line_plot_png draws (160x100 to
// 8192x8192); `what` names the option in the message.
void check_plot_size(const PlotOptions& options, const std::string& what);

// The chart as the bytes of a PNG file (8-bit RGB).
std::vector<uint8_t> line_plot_png(const std::vector<Series>& series, const PlotOptions& options);

// The y axis's ticks for values in [y_min, y_max] (in axis units: log10 of
// the values on a log axis), the first and last being the axis's ends: the
// data's range, from 0 on a linear axis with options.y_from_zero (unless
// values go below 0), with the top `headroom` fraction of the axis left
// above the data for the legend.
std::vector<double> y_axis_ticks(double y_min, double y_max, const PlotOptions& options,
                                 double headroom);

}  // namespace danlu::cli
