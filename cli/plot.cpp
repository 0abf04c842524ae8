// The three pictures: line charts (grid, ticks, dashed markers, a legend
// outside the frame on the right), heatmaps (cells coloured by viridis, a
// colour bar) and image grids (greyscale cells with row and column labels).
// Without PLplot each writer says how to get pictures and draws nothing.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "cli/plot.h"
#include "engine/error.h"
#include "engine/printf_string.h"

#ifdef DANLU_HAVE_PLPLOT
#include <cstring>

#include "cli/plot_page.h"
#endif

namespace danlu::cli {

namespace {

// Prints why `path` is not drawn when plotting is not available.
bool can_draw(const std::string& path) {
  if (plotting_available()) return true;
  std::printf(
      "skipped %s: this danlu was built without PLplot (apt-get install libplplot-dev "
      "plplot-driver-cairo, then configure and build again); the numbers are in the CSV/JSON\n",
      path.c_str());
  return false;
}

}  // namespace

#ifdef DANLU_HAVE_PLPLOT

namespace {

// Legend text relative to the axes' text, and its line spacing in characters.
constexpr double kLegendScale = 0.85, kLegendSpacing = 2.0;
// A dot of a point series (PLplot's Hershey glyph #(850), a filled circle), and its size.
constexpr const char* kDot = "#(850)";
constexpr double kDotScale = 2.5;

std::string tick_label(double v, bool log) {
  // A log axis may tick at half decades: 3.16, not 3.16228.
  if (log) return printf_string("%.3g", std::pow(10.0, v));
  return printf_string("%g", std::abs(v) < 1e-12 ? 0.0 : v);
}

}  // namespace

bool plotting_available() {
  static const bool available = [] {
    const char* names[128];
    const char* menus[128];
    const char** n = names;
    const char** m = menus;
    int count = 128;
    plgDevs(&m, &n, &count);
    bool png = false, svg = false;
    for (int i = 0; i < count; ++i) {
      png = png || std::strcmp(n[i], "pngcairo") == 0;
      svg = svg || std::strcmp(n[i], "svgcairo") == 0;
    }
    return png && svg;
  }();
  return available;
}

bool write_line_plot(const std::string& path, const std::vector<Series>& series,
                     const PlotOptions& o) {
  check_plot_size(o.width, o.height, "plot");
  // Points in axis units (log10 on a log axis); unplottable values dropped.
  const auto axis = [](double v, bool log) { return log ? (v > 0 ? std::log10(v) : NAN) : v; };
  std::vector<std::vector<PLFLT>> xs(series.size()), ys(series.size());
  const double inf = std::numeric_limits<double>::infinity();
  double x_lo = inf, x_hi = -inf, y_min = inf, y_max = -inf;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    for (size_t i = 0; i < s.y.size(); ++i) {
      const double x = axis(s.x.empty() ? double(i) : s.x[i], o.log_x), y = axis(s.y[i], o.log_y);
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      xs[k].push_back(x), ys[k].push_back(y);
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  }
  DANLU_CHECK(y_min <= y_max, path, ": nothing to draw (no finite values)");
  if (!can_draw(path)) return false;
  if (std::isfinite(o.y_lo) && std::isfinite(o.y_hi) && o.y_lo < o.y_hi)
    y_min = axis(o.y_lo, o.log_y), y_max = axis(o.y_hi, o.log_y);
  if (!o.log_x && x_lo > 0 && series.front().x.empty()) x_lo = 0;
  if (x_hi <= x_lo) x_hi = x_lo + 1;
  const std::vector<double> y_ticks = y_axis_ticks(y_min, y_max, o, 0.02);
  const double lo = y_ticks.front(), hi = y_ticks.back();

  Page page(path, o.width, o.height);
  const double ch = Page::char_mm();
  double label_mm = 0, entry_mm = 0;
  for (double v : y_ticks) label_mm = std::max(label_mm, Page::text_mm(tick_label(v, o.log_y)));
  // The legend goes right of the frame, in as many columns as its entries
  // need, unless that leaves the chart under 60% of the width: then below it.
  const bool legend = series.size() > 1 || !series.front().label.empty();
  double bottom = 4.5 * ch, right = 1.5 * ch;
  const double top = o.title.empty() ? 2 * ch : 4 * ch, row_mm = kLegendSpacing * kLegendScale * ch;
  for (const Series& s : series) entry_mm = std::max(entry_mm, kLegendScale * Page::text_mm(s.label) + 5 * ch);
  int legend_rows = std::max(1, int((page.height_mm() - bottom - top) / row_mm));
  int legend_columns = (int(series.size()) + legend_rows - 1) / legend_rows;
  const bool below = legend && legend_columns * entry_mm > 0.4 * page.width_mm() &&
                     bottom + series.size() * row_mm < 0.5 * page.height_mm();
  if (below) {
    legend_rows = int(series.size()), legend_columns = 1;
    bottom += legend_rows * row_mm + ch;
  } else if (legend) {
    right += legend_columns * entry_mm + ch;
  }
  page.viewport_mm(label_mm + 4.5 * ch, right, bottom, top);
  plwind(x_lo, x_hi, lo, hi);
  plsxax(7, 0);  // step numbers written out, not as "(x10^4)"

  const std::string log_x = o.log_x ? "l" : "";
  plcol0(kGrid);
  plbox(("g" + log_x).c_str(), 0, 0, "", 0, 0);
  for (double v : y_ticks) pljoin(x_lo, v, x_hi, v);
  plcol0(kInk);
  plbox(("bcnst" + log_x).c_str(), 0, 0, "bc", 0, 0);
  const double tick_len = (x_hi - x_lo) * 0.008;
  for (double v : y_ticks) {
    pljoin(x_lo, v, x_lo + tick_len, v);
    plmtex("lv", 0.6, (v - lo) / (hi - lo), 1.0, tick_label(v, o.log_y).c_str());
  }
  plmtex("b", 3.2, 0.5, 0.5, plot_text(o.x_label).c_str());
  plmtex("l", label_mm / ch + 2.0, 0.5, 0.5, plot_text(o.y_label).c_str());
  if (!o.title.empty()) plmtex("t", 1.2, 0.5, 0.5, plot_text(o.title).c_str());

  plcol0(kMark);
  pllsty(3);
  for (double m : o.marks_x) {
    const double v = axis(m, o.log_x);
    if (std::isfinite(v) && v >= x_lo && v <= x_hi) pljoin(v, lo, v, hi);
  }
  pllsty(1);
  plwidth(1.6);
  for (size_t k = 0; k < series.size(); ++k) {
    plcol0(kFirstCurve + PLINT(k % kCurveColors));
    if (series[k].points) {  // plstring draws its glyph at the character height
      plschr(0, kDotScale);
      plstring(PLINT(xs[k].size()), xs[k].data(), ys[k].data(), kDot);
      plschr(0, 1.0);
      continue;
    }
    if (xs[k].size() == 1) xs[k].push_back(xs[k][0] + (x_hi - x_lo) * 1e-3), ys[k].push_back(ys[k][0]);
    plline(PLINT(xs[k].size()), xs[k].data(), ys[k].data());
  }
  plwidth(1);

  if (legend) {
    const PLINT n = PLINT(series.size());
    std::vector<std::string> texts;
    for (const Series& s : series) texts.push_back(plot_text(s.label));
    std::vector<const char*> text;
    std::vector<PLINT> opts(n, PL_LEGEND_LINE), text_colors(n, kInk), line_colors(n),
        line_styles(n, 1);
    std::vector<PLFLT> line_widths(n, 1.6), symbol_scales(n, kDotScale);
    std::vector<PLINT> symbol_numbers(n, 1);
    std::vector<const char*> symbols(n, kDot);
    for (PLINT k = 0; k < n; ++k) {
      text.push_back(texts[k].c_str());
      line_colors[k] = kFirstCurve + k % kCurveColors;
      if (series[k].points) opts[k] = PL_LEGEND_SYMBOL;
    }
    PLFLT w = 0, h = 0;
    const PLINT where = below ? PL_POSITION_BOTTOM | PL_POSITION_OUTSIDE : PL_POSITION_RIGHT | PL_POSITION_OUTSIDE;
    pllegend(&w, &h, 0, where, 0.0, below ? 4.5 * ch / (page.height_mm() - bottom - top) : 0.01, 0.06, kBackground,
             kInk, 1, std::min(n, PLINT(legend_rows)), PLINT(legend_columns), n, opts.data(), 0.8,
             kLegendScale, kLegendSpacing, 0.0, text_colors.data(),
             text.data(), nullptr, nullptr, nullptr, nullptr, line_colors.data(), line_styles.data(),
             line_widths.data(), line_colors.data(), symbol_scales.data(), symbol_numbers.data(),
             symbols.data());
  }
  page.finish();
  return true;
}

bool write_heatmap(const std::string& path, const Heatmap& h) {
  const bool named = !h.columns.empty();
  const int rows = int(h.rows.size()), cols = int(named ? h.columns.size() : h.x.size());
  DANLU_CHECK(rows > 0 && cols > 0, path, ": nothing to draw (no rows or no columns)");
  DANLU_CHECK(int(h.z.size()) == rows, path, ": ", h.z.size(), " rows of values for ", rows,
              " row labels");
  const auto value = [&](int r, int c) {
    DANLU_CHECK(int(h.z[r].size()) == cols, path, ": row ", r, " has ", h.z[r].size(),
                " values for ", cols, " columns");
    const double v = h.z[r][c];
    return h.log_z ? (v > 0 ? std::log10(v) : NAN) : v;
  };
  double z_lo = std::numeric_limits<double>::infinity(), z_hi = -z_lo;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      if (const double v = value(r, c); std::isfinite(v)) z_lo = std::min(z_lo, v), z_hi = std::max(z_hi, v);
  DANLU_CHECK(z_lo <= z_hi, path, ": nothing to draw (no finite values)");
  if (!can_draw(path)) return false;
  if (std::isfinite(h.z_lo) && std::isfinite(h.z_hi) && h.z_lo < h.z_hi)
    z_lo = h.log_z ? std::log10(h.z_lo) : h.z_lo, z_hi = h.log_z ? std::log10(h.z_hi) : h.z_hi;
  if (z_hi - z_lo < 1e-12) z_lo -= 0.5, z_hi += 0.5;
  size_t label_chars = 0, column_chars = 0;
  for (const std::string& r : h.rows) label_chars = std::max(label_chars, r.size());
  for (const std::string& c : h.columns) column_chars = std::max(column_chars, c.size());
  const int width = h.width > 0 ? h.width
                                : std::clamp(560 + 7 * int(label_chars) + (named ? 16 * cols : 0), 480, 8192);
  const int height = h.height > 0 ? h.height
                                  : std::clamp(120 + 16 * rows + 7 * int(column_chars), 240, 8192);
  check_plot_size(width, height, "heatmap");

  Page page(path, width, height);
  const double ch = Page::char_mm();
  double label_mm = 0;
  for (const std::string& r : h.rows) label_mm = std::max(label_mm, Page::text_mm(r));
  double column_mm = 0;
  for (const std::string& c : h.columns) column_mm = std::max(column_mm, Page::text_mm(c));
  const double left = label_mm + 2 * ch, right = 12 * ch, top = 4 * ch;
  const double bottom = named ? column_mm + 2 * ch : 4 * ch;
  page.viewport_mm(left, right, bottom, top);
  // Cells centred on their x positions (or 0, 1, ... when named), as wide as
  // the columns' mean spacing.
  const double first_x = named ? 0 : h.x.front(), last_x = named ? cols - 1 : h.x.back();
  const double dx = cols > 1 ? (last_x - first_x) / (cols - 1) : 1;
  const double x0 = first_x - dx / 2, x1 = last_x + dx / 2;
  plwind(x0, x1, 0, rows);
  plsxax(7, 0);
  plcol0(kMissing);
  const PLFLT fx[] = {x0, x1, x1, x0}, fy[] = {0, 0, PLFLT(rows), PLFLT(rows)};
  plfill(4, fx, fy);

  // Missing values sit below z_lo, where plimage draws nothing.
  ImageData image(cols, rows);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double v = value(r, c);
      image.at(c, rows - 1 - r) = std::isfinite(v) ? std::clamp(v, z_lo, z_hi) : z_lo - 1;
    }
  use_viridis();
  image.draw(x0, x1, 0, rows, z_lo, z_hi);

  plcol0(kInk);
  plbox(named ? "bc" : "bcnst", 0, 0, "bc", 0, 0);
  for (int c = 0; named && c < cols; ++c)
    plmtex("bv", 0.6, (c + 0.5) / cols, 1.0, plot_text(h.columns[c]).c_str());
  // Every row labelled when the labels fit, else every k-th.
  const double row_mm = (page.height_mm() - bottom - top) / rows;
  const int every = std::max(1, int(std::ceil(1.3 * ch / row_mm)));
  for (int r = 0; r < rows; r += every)
    plmtex("lv", 0.6, (rows - r - 0.5) / rows, 1.0, plot_text(h.rows[r]).c_str());
  if (!named) plmtex("b", 3.2, 0.5, 0.5, plot_text(h.x_label).c_str());
  if (!h.title.empty()) plmtex("t", 1.2, 0.5, 0.5, plot_text(h.title).c_str());

  // The colour bar: a column of 256 cells from z_lo to z_hi.
  page.viewport_mm(page.width_mm() - right + 1.5 * ch, right - 3 * ch, bottom, top);
  plwind(0, 1, z_lo, z_hi);
  ImageData bar(2, 256);  // plimage needs two columns at least
  for (int i = 0; i < 256; ++i) bar.at(0, i) = bar.at(1, i) = z_lo + (z_hi - z_lo) * i / 255.0;
  bar.draw(0, 1, z_lo, z_hi, z_lo, z_hi);
  plcol0(kInk);
  plbox("bc", 0, 0, h.log_z ? "bcmstvl" : "bcmstv", 0, 0);
  if (!h.z_label.empty()) plmtex("r", 5.0, 0.5, 0.5, plot_text(h.z_label).c_str());
  page.finish();
  return true;
}

bool write_image_grid(const std::string& path, const ImageGrid& g) {
  const int rows = int(g.cells.size()), cols = rows ? int(g.cells.front().size()) : 0;
  DANLU_CHECK(rows > 0 && cols > 0, path, ": nothing to draw (no pictures)");
  DANLU_CHECK(int(g.row_labels.size()) == rows && int(g.column_labels.size()) == cols, path,
              ": ", g.row_labels.size(), " row and ", g.column_labels.size(),
              " column labels for a ", rows, "x", cols, " grid");
  for (const auto& row : g.cells)
    DANLU_CHECK(int(row.size()) == cols, path, ": rows of ", row.size(), " and ", cols, " pictures");
  if (!can_draw(path)) return false;
  size_t label_chars = 0;
  for (const std::string& r : g.row_labels) label_chars = std::max(label_chars, r.size());
  const int cell = g.cell_pixels, gap = 6;
  const int left = 12 + int(label_chars) * 7, top = g.title.empty() ? 28 : 52;
  const int width = left + cols * (cell + gap) + gap, height = top + rows * (cell + gap) + gap;
  check_plot_size(width, height, "image grid");

  Page page(path, width, height);
  use_greys();
  const double px = page.width_mm() / width;  // millimetres per pixel
  plcol0(kInk);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const Image& im = g.cells[r][c];
      DANLU_CHECK(im.width > 0 && im.height > 0 && im.pixels.size() == size_t(im.width) * im.height,
                  path, ": picture (", r, ", ", c, ") holds ", im.pixels.size(), " values for ",
                  im.height, "x", im.width);
      const double x = left + c * (cell + gap), y = top + r * (cell + gap);
      page.viewport_mm(x * px, (width - x - cell) * px, (height - y - cell) * px, y * px);
      plwind(0, im.width, 0, im.height);
      ImageData data(im.width, im.height);
      const double lo = im.lo, hi = im.hi > im.lo ? im.hi : im.lo + 1;
      for (int i = 0; i < im.height; ++i)
        for (int j = 0; j < im.width; ++j)
          data.at(j, im.height - 1 - i) = std::clamp(double(im.pixels[size_t(i) * im.width + j]), lo, hi);
      data.draw(0, im.width, 0, im.height, lo, hi);
      plbox("bc", 0, 0, "bc", 0, 0);
      if (r == 0) plmtex("t", 0.6, 0.5, 0.5, plot_text(g.column_labels[c]).c_str());
      if (c == 0) plmtex("lv", 0.8, 0.5, 1.0, plot_text(g.row_labels[r]).c_str());
    }
  if (!g.title.empty()) {
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plmtex("t", -1.5, 0.5, 0.5, plot_text(g.title).c_str());
  }
  page.finish();
  return true;
}

#else  // without PLplot

bool plotting_available() { return false; }

bool write_line_plot(const std::string& path, const std::vector<Series>& series,
                     const PlotOptions& o) {
  check_plot_size(o.width, o.height, "plot");
  bool finite = false;
  for (const Series& s : series)
    for (double y : s.y) finite = finite || std::isfinite(y);
  DANLU_CHECK(finite, path, ": nothing to draw (no finite values)");
  return can_draw(path);
}

bool write_heatmap(const std::string& path, const Heatmap&) { return can_draw(path); }
bool write_image_grid(const std::string& path, const ImageGrid&) { return can_draw(path); }

#endif

}  // namespace danlu::cli
