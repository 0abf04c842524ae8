// One picture being drawn by PLplot: a stream on the cairo driver that
// renders into a temp file beside the target, then moves it into place
// atomically. Also the palette every chart shares and the text measures the
// layouts use. Only built with PLplot (DANLU_HAVE_PLPLOT).
#pragma once

#include <plplot.h>

#include <string>
#include <vector>

namespace danlu::cli {

// cmap0 indices: the background, ink for text and frames, light grid lines,
// markers, cells without a value, then matplotlib's ten "tab10" colours.
enum PaletteColor : PLINT { kBackground = 0, kInk, kGrid, kMark, kMissing, kFirstCurve };
constexpr int kCurveColors = 10;

class Page {
 public:
  // A width x height pixel page for `path` (.png or .svg).
  Page(const std::string& path, int width, int height);
  ~Page();
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;

  // Ends the stream and moves the file into place; throws when PLplot
  // reported a problem while drawing.
  void finish();

  // Page size in millimetres, and a text's width in millimetres at the
  // current character height (an estimate from the font's mean advance).
  double width_mm() const { return width_mm_; }
  double height_mm() const { return height_mm_; }
  static double text_mm(const std::string& text);
  static double char_mm();  // the current character height

  // A viewport from millimetre margins (left, right, bottom, top).
  void viewport_mm(double left, double right, double bottom, double top) const;

 private:
  std::string path_, tmp_;
  PLINT stream_ = -1, previous_ = 0;
  double width_mm_ = 0, height_mm_ = 0;
  bool done_ = false;
};

// PLplot text with its escape character ('#') doubled.
std::string plot_text(const std::string& text);

// cmap1 as a palette: viridis for heatmaps, grey from black to white for
// pictures.
void use_viridis();
void use_greys();

// A column-major matrix for plimage: columns[x][y].
struct ImageData {
  ImageData(int nx, int ny) : nx(nx), ny(ny), values(size_t(nx) * ny), columns(nx) {
    for (int i = 0; i < nx; ++i) columns[i] = &values[size_t(i) * ny];
  }
  PLFLT& at(int x, int y) { return columns[x][y]; }
  // Draws the cells over [x0, x1] x [y0, y1], coloured by cmap1 from `lo`
  // (0) to `hi` (1); values outside [lo, hi] are left undrawn.
  void draw(PLFLT x0, PLFLT x1, PLFLT y0, PLFLT y1, PLFLT lo, PLFLT hi) const {
    // plimagefr spans its limits with the cells' lower-left corners and
    // draws each cell one spacing wide: the limits given end a cell short.
    const PLFLT x_end = x0 + (x1 - x0) * (nx - 1) / nx, y_end = y0 + (y1 - y0) * (ny - 1) / ny;
    plimagefr(columns.data(), nx, ny, x0, x_end, y0, y_end, lo, hi, lo, hi, nullptr, nullptr);
  }
  int nx, ny;
  std::vector<PLFLT> values;
  std::vector<PLFLT*> columns;
};

}  // namespace danlu::cli
