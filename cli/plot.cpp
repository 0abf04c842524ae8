// The line-plot writer: chart layout (nice ticks, margins, legend), an RGB
// raster with anti-aliased lines and a 5x7 bitmap font, and a PNG encoder
// (IHDR + one zlib-compressed IDAT + IEND, each chunk with its CRC-32).
#include "cli/plot.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "engine/error.h"
#include "engine/printf_string.h"

namespace danlu::cli {

namespace {

using Rgb = std::array<uint8_t, 3>;

// ASCII 32..126, 7 rows of 5 pixels each, bit 4 = leftmost column (the
// HD44780 LCD character set).
constexpr uint8_t kFont[95][7] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // space
    {0x04, 0x04, 0x04, 0x04, 0x00, 0x00, 0x04},  // !
    {0x0A, 0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00},  // "
    {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A},  // #
    {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04},  // $
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03},  // %
    {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D},  // &
    {0x0C, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00},  // '
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02},  // (
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08},  // )
    {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00},  // *
    {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00},  // +
    {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08},  // ,
    {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00},  // -
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C},  // .
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00},  // /
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E},  // 0
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},  // 1
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F},  // 2
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},  // 3
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02},  // 4
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},  // 5
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E},  // 6
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},  // 7
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E},  // 8
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},  // 9
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00},  // :
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x04, 0x08},  // ;
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02},  // <
    {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00},  // =
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08},  // >
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04},  // ?
    {0x0E, 0x11, 0x01, 0x0D, 0x15, 0x15, 0x0E},  // @
    {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11},  // A
    {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},  // B
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E},  // C
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C},  // D
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F},  // E
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},  // F
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F},  // G
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},  // H
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E},  // I
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},  // J
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11},  // K
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},  // L
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11},  // M
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},  // N
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E},  // O
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},  // P
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D},  // Q
    {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},  // R
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E},  // S
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},  // T
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E},  // U
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},  // V
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A},  // W
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},  // X
    {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04},  // Y
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F},  // Z
    {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E},  // [
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00},  // backslash
    {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E},  // ]
    {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00},  // ^
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F},  // _
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00},  // `
    {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F},  // a
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E},  // b
    {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E},  // c
    {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F},  // d
    {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E},  // e
    {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08},  // f
    {0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E},  // g
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11},  // h
    {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E},  // i
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C},  // j
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12},  // k
    {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E},  // l
    {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11},  // m
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11},  // n
    {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E},  // o
    {0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10},  // p
    {0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01},  // q
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10},  // r
    {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E},  // s
    {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06},  // t
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D},  // u
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04},  // v
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A},  // w
    {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11},  // x
    {0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E},  // y
    {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F},  // z
    {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02},  // {
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},  // |
    {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08},  // }
    {0x00, 0x00, 0x00, 0x0D, 0x12, 0x00, 0x00},  // ~
};
constexpr int kAdvance = 6;      // 5 columns of glyph and 1 of space
constexpr int kLineHeight = 10;  // 7 rows of glyph and 3 of space

// matplotlib's "tab10" colours.
constexpr Rgb kColors[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                           {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                           {188, 189, 34},  {23, 190, 207}};
constexpr Rgb kWhite{255, 255, 255}, kInk{40, 40, 40}, kGrid{228, 228, 228}, kFrame{160, 160, 160},
              kMark{0, 0, 0};

int text_width(const std::string& s) { return int(s.size()) * kAdvance - 1; }

class Raster {
 public:
  Raster(int width, int height) : w_(width), h_(height), px_(size_t(width) * height * 3, 255) {}
  int width() const { return w_; }
  int height() const { return h_; }

  // Mixes colour c into pixel (x, y) with opacity a in [0, 1].
  void blend(int x, int y, Rgb c, double a) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_ || a <= 0) return;
    uint8_t* p = &px_[(size_t(y) * w_ + x) * 3];
    for (int k = 0; k < 3; ++k)
      p[k] = uint8_t(std::lround(p[k] + (c[k] - p[k]) * std::min(a, 1.0)));
  }
  void fill(int x0, int y0, int x1, int y1, Rgb c) {  // inclusive corners
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) blend(x, y, c, 1);
  }
  // Text with its top-left corner at (x, y).
  void text(int x, int y, const std::string& s, Rgb c) {
    for (char ch : s) {
      const int i = (ch >= 32 && ch <= 126) ? ch - 32 : '?' - 32;
      for (int r = 0; r < 7; ++r)
        for (int col = 0; col < 5; ++col)
          if (kFont[i][r] & (0x10 >> col)) blend(x + col, y + r, c, 1);
      x += kAdvance;
    }
  }
  const std::vector<uint8_t>& pixels() const { return px_; }

 private:
  int w_, h_;
  std::vector<uint8_t> px_;  // row-major RGB
};

// A polyline 1.5 pixels wide, anti-aliased by each pixel's distance to the
// nearest segment; the coverage buffer keeps joints from being drawn twice.
// Only rows top..bottom are drawn.
void polyline(Raster& img, const std::vector<std::array<double, 2>>& pts, Rgb c, int top,
              int bottom) {
  const double half = 0.75;
  std::vector<float> cover(size_t(img.width()) * img.height(), 0.f);
  for (size_t i = 0; i + 1 < pts.size(); ++i) {
    const auto [ax, ay] = pts[i];
    const auto [bx, by] = pts[i + 1];
    if (!std::isfinite(ax + ay + bx + by)) continue;
    const int x0 = std::max(0, int(std::floor(std::min(ax, bx) - 2)));
    const int x1 = std::min(img.width() - 1, int(std::ceil(std::max(ax, bx) + 2)));
    const int y0 = std::max(top, int(std::floor(std::max(std::min(ay, by) - 2, -1e9))));
    const int y1 = std::min(bottom, int(std::ceil(std::min(std::max(ay, by) + 2, 1e9))));
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) {
        const double px = x + 0.5 - ax, py = y + 0.5 - ay;
        const double t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0, 1.0) : 0.0;
        const double d = std::hypot(px - t * dx, py - t * dy);
        float& cv = cover[size_t(y) * img.width() + x];
        cv = std::max(cv, float(std::clamp(half + 0.5 - d, 0.0, 1.0)));
      }
  }
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) img.blend(x, y, c, cover[size_t(y) * img.width() + x]);
}

// Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]. On a
// log axis spanning 2 decades or more, ticks fall on whole decades only.
std::vector<double> ticks(double lo, double hi, int target, bool log = false) {
  const double raw = std::max((hi - lo) / target, log && hi - lo >= 2 ? 1.0 : 0.0);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  std::vector<double> out;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; ++k)
    out.push_back(k * step);
  return out;
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

// A PNG chunk: length, type, data, and the CRC-32 of type and data.
void chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  put32(out, uint32_t(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put32(out, uint32_t(crc32(0, &out[start], uInt(out.size() - start))));
}

std::vector<uint8_t> encode_png(const Raster& img) {
  // Each scanline starts with its filter type, 0 = none.
  const size_t row = size_t(img.width()) * 3;
  std::vector<uint8_t> raw;
  raw.reserve((row + 1) * img.height());
  for (int y = 0; y < img.height(); ++y) {
    raw.push_back(0);
    raw.insert(raw.end(), img.pixels().begin() + y * row, img.pixels().begin() + (y + 1) * row);
  }
  uLongf packed_size = compressBound(uLong(raw.size()));
  std::vector<uint8_t> packed(packed_size);
  DANLU_CHECK(compress2(packed.data(), &packed_size, raw.data(), uLong(raw.size()), 9) == Z_OK,
              "plot: zlib failed to compress the image");
  packed.resize(packed_size);

  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> header;
  put32(header, uint32_t(img.width()));
  put32(header, uint32_t(img.height()));
  header.insert(header.end(), {8, 2, 0, 0, 0});  // 8-bit RGB, deflate, no filter/interlace
  chunk(png, "IHDR", header);
  chunk(png, "IDAT", packed);
  chunk(png, "IEND", {});
  return png;
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

void check_plot_size(const PlotOptions& o, const std::string& what) {
  DANLU_CHECK(o.width >= 160 && o.height >= 100 && o.width <= 8192 && o.height <= 8192, what,
              ": expected a size from 160x100 to 8192x8192, got ", o.width, "x", o.height);
}

std::vector<uint8_t> line_plot_png(const std::vector<Series>& series, const PlotOptions& o) {
  check_plot_size(o, "plot");
  // Points in axis units (log10 on a log axis); unplottable values dropped.
  const auto axis = [](double v, bool log) { return log ? (v > 0 ? std::log10(v) : NAN) : v; };
  std::vector<std::vector<std::array<double, 2>>> points(series.size());
  const double inf = std::numeric_limits<double>::infinity();
  double x_lo = inf, x_hi = -inf, y_min = inf, y_max = -inf;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    for (size_t i = 0; i < s.y.size(); ++i) {
      const double x = axis(s.x.empty() ? double(i) : s.x[i], o.log_x), y = axis(s.y[i], o.log_y);
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      points[k].push_back({x, y});
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  }
  DANLU_CHECK(y_min <= y_max, "plot: nothing to draw (no finite values)");
  const bool y_limited = std::isfinite(o.y_lo) && std::isfinite(o.y_hi) && o.y_lo < o.y_hi;
  if (y_limited) y_min = axis(o.y_lo, o.log_y), y_max = axis(o.y_hi, o.log_y);
  if (!o.log_x && x_lo > 0 && series.front().x.empty()) x_lo = 0;
  if (x_hi <= x_lo) x_hi = x_lo + 1;

  // The axis leaves room above the curves for the legend.
  const int top = (o.title.empty() ? 0 : kLineHeight + 2) + 16;
  const int bottom = o.height - 30;
  const int legend_h = int(series.size()) * kLineHeight + 6;
  DANLU_CHECK(bottom - top > 2 * (legend_h + 8), "plot: ", o.width, "x", o.height,
              " is too small for ", series.size(), " curves and their legend");
  const std::vector<double> y_ticks =
      y_axis_ticks(y_min, y_max, o, double(legend_h + 8) / (bottom - top));
  const double lo = y_ticks.front(), hi = y_ticks.back();
  const std::vector<double> x_ticks = ticks(x_lo, x_hi, std::max(2, o.width / 80), o.log_x);
  // A log axis may tick at half decades: 3.16, not 3.16228.
  const auto label = [](double v, bool log) {
    return log ? printf_string("%.3g", std::pow(10.0, v)) : tick_label(v);
  };

  int label_w = 0;
  for (double v : y_ticks) label_w = std::max(label_w, text_width(label(v, o.log_y)));
  const int left = label_w + 10, right = o.width - 14;
  const auto X = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * (right - left); };
  const auto Y = [&](double v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };

  Raster img(o.width, o.height);
  for (double v : y_ticks) {
    const int y = int(std::lround(Y(v)));
    img.fill(left, y, right, y, kGrid);
    img.fill(left - 3, y, left - 1, y, kInk);
    const std::string s = label(v, o.log_y);
    img.text(left - 6 - text_width(s), y - 3, s, kInk);
  }
  for (double v : x_ticks) {
    const int x = int(std::lround(X(v)));
    if (x < left || x > right) continue;
    img.fill(x, top, x, bottom, kGrid);
    img.fill(x, bottom + 1, x, bottom + 3, kInk);
    const std::string s = label(v, o.log_x);
    img.text(x - text_width(s) / 2, bottom + 6, s, kInk);
  }
  img.fill(left, top, left, bottom, kInk);
  img.fill(left, bottom, right, bottom, kInk);
  img.text((left + right - text_width(o.x_label)) / 2, o.height - 11, o.x_label, kInk);
  img.text(std::max(1, left - text_width(o.y_label) / 2), top - 13, o.y_label, kInk);
  if (!o.title.empty()) img.text((o.width - text_width(o.title)) / 2, 4, o.title, kInk);

  for (double m : o.marks_x) {  // dashed vertical markers
    const double v = axis(m, o.log_x);
    if (!std::isfinite(v) || v < x_lo || v > x_hi) continue;
    const int x = int(std::lround(X(v)));
    for (int y = top; y < bottom; y += 6) img.fill(x, y, x, std::min(y + 3, bottom), kMark);
  }
  for (size_t k = 0; k < series.size(); ++k) {
    std::vector<std::array<double, 2>> pts;
    for (const auto& [x, y] : points[k]) pts.push_back({X(x), Y(y)});
    if (pts.size() == 1) pts.push_back({pts[0][0] + 1, pts[0][1]});
    polyline(img, pts, kColors[k % std::size(kColors)], y_limited ? top : 0,
             y_limited ? bottom : o.height - 1);
  }

  // The legend, top right, above the curves.
  int legend_w = 0;
  for (const Series& s : series) legend_w = std::max(legend_w, text_width(s.label));
  legend_w += 32;
  const int lx = right - legend_w - 4, ly = top + 4;
  img.fill(lx, ly, lx + legend_w, ly + legend_h, kFrame);
  img.fill(lx + 1, ly + 1, lx + legend_w - 1, ly + legend_h - 1, kWhite);
  for (size_t k = 0; k < series.size(); ++k) {
    const int y = ly + 4 + int(k) * kLineHeight;
    const Rgb c = kColors[k % std::size(kColors)];
    img.fill(lx + 5, y + 2, lx + 22, y + 4, c);
    img.text(lx + 27, y, series[k].label, kInk);
  }
  return encode_png(img);
}

}  // namespace danlu::cli
