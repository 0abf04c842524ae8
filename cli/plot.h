// A small PNG line-plot writer for the CLI (`danlu schedule --plot`): curves
// against x = 0, 1, 2, ... on one chart, with axes, tick labels and a legend,
// drawn on an RGB raster with a built-in 5x7 font and encoded with zlib.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace danlu::cli {

struct Series {
  std::string label;
  std::vector<double> y;  // y[i] is drawn at x = i
};

struct PlotOptions {
  int width = 480;
  int height = 240;
  std::string x_label = "step";
  std::string y_label = "lr";
  std::string title;  // none when empty
};

// The chart as the bytes of a PNG file (8-bit RGB).
std::vector<uint8_t> line_plot_png(const std::vector<Series>& series, const PlotOptions& options);

}  // namespace danlu::cli
