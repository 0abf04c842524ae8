// The CLI's one plotting module, drawn by PLplot's cairo driver (anti-aliased
// text, PNG or SVG by the file's extension): line charts (`danlu schedule
// --plot`, `danlu plot`, `danlu lr-find`, `compare`, `sweep`), heatmaps
// (`danlu plot`'s layer x step statistics) and image grids (`danlu init-lab`'s
// feature maps). Every file is written atomically. danlu builds without
// PLplot too: then each writer prints one line saying how to get pictures
// and draws nothing, and the commands still write their CSV and JSON.
#pragma once

#include <cmath>
#include <string>
#include <vector>

namespace danlu::cli {

struct Series {
  std::string label;
  std::vector<double> y;
  std::vector<double> x;  // y[i] is drawn at x[i], or at x = i when x is empty
  bool points = false;    // each (x, y) a dot, not joined into a line
};

struct PlotOptions {
  int width = 480;
  int height = 240;
  std::string x_label = "step";
  std::string y_label = "lr";
  std::string title;  // none when empty
  bool log_x = false, log_y = false;  // base-10 axes (non-positive values are skipped)
  bool y_from_zero = true;            // a linear y axis starts at 0 (else it fits the data)
  // When both are finite, the y axis spans [y_lo, y_hi] (out to round ticks,
  // from 0 unless y_from_zero is off) whatever the data, and curves are cut
  // at the frame: an explosion cannot squash the rest.
  double y_lo = NAN, y_hi = NAN;
  std::vector<double> marks_x;        // vertical marker lines at these x values
};

// A matrix of values drawn as coloured cells: rows[i] labels row i (drawn top
// to bottom), x[j] is column j's position (e.g. the step) or columns[j] its
// name, z[i][j] its value (NaN: no value, drawn grey).
struct Heatmap {
  std::vector<std::string> rows;
  std::vector<double> x;
  // When given, the columns are these named categories (written upright
  // under the cells) and x is ignored.
  std::vector<std::string> columns;
  std::vector<std::vector<double>> z;
  std::string title, x_label = "step", z_label;
  bool log_z = false;  // colours by log10 of the value (non-positive values: none)
  double z_lo = NAN, z_hi = NAN;  // when both are finite, the colour scale's ends (else the data's)
  int width = 0, height = 0;  // 0: from the row labels' length and the number of rows
};

// One greyscale picture, row-major, drawn black at `lo` and white at `hi`.
struct Image {
  int height = 0, width = 0;
  std::vector<float> pixels;
  double lo = 0, hi = 1;
};

// Pictures in a table: cells[r][c] under column_labels[c], beside row_labels[r].
struct ImageGrid {
  std::string title;
  std::vector<std::string> row_labels, column_labels;
  std::vector<std::vector<Image>> cells;
  int cell_pixels = 64;  // each cell's side in the file
};

// Whether this danlu was built with PLplot and its cairo driver is installed.
bool plotting_available();

// Throws unless width x height is a size the writers draw (160x100 to
// 8192x8192); `what` names the option in the message.
void check_plot_size(int width, int height, const std::string& what);

// Each writer draws into `path` (.png or .svg) and returns true, or prints
// "skipped PATH: ..." with the way to get pictures and returns false when
// plotting is not available. Bad input (nothing finite to draw, a size out
// of range) throws a one-line danlu::Error.
bool write_line_plot(const std::string& path, const std::vector<Series>& series,
                     const PlotOptions& options);
bool write_heatmap(const std::string& path, const Heatmap& heatmap);
bool write_image_grid(const std::string& path, const ImageGrid& grid);

// The y axis's ticks for values in [y_min, y_max] (in axis units: log10 of
// the values on a log axis), the first and last being the axis's ends: the
// data's range, from 0 on a linear axis with options.y_from_zero (unless
// values go below 0), with the top `headroom` fraction of the axis left
// above the data.
std::vector<double> y_axis_ticks(double y_min, double y_max, const PlotOptions& options,
                                 double headroom);

}  // namespace danlu::cli
