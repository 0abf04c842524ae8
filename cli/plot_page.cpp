// Page: a PLplot stream on pngcairo or svgcairo, with danlu's palette, drawn
// into <path>.plplot.<pid> and moved into place by io::replace_file.
#include "cli/plot_page.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace danlu::cli {

namespace {

// What PLplot's plabort said while drawing (it draws on and returns).
std::string& plplot_complaints() {
  static std::string text;
  return text;
}

void collect_complaint(PLCHAR_VECTOR message) {
  if (!plplot_complaints().empty()) plplot_complaints() += "; ";
  plplot_complaints() += message;
}

struct Rgb {
  PLINT r, g, b;
};

constexpr Rgb kPalette[] = {
    {255, 255, 255}, {40, 40, 40},    {226, 226, 226}, {0, 0, 0},       {200, 200, 200},
    {31, 119, 180},  {255, 127, 14},  {44, 160, 44},   {214, 39, 40},   {148, 103, 189},
    {140, 86, 75},   {227, 119, 194}, {127, 127, 127}, {188, 189, 34},  {23, 190, 207}};

// Millimetres per pixel at the resolution PLplot's cairo driver assumes.
constexpr double kDpi = 90;
constexpr double kMmPerPixel = 25.4 / kDpi;
// Character height in millimetres: about 10 pixels.
constexpr double kCharMm = 2.9;

}  // namespace

std::string plot_text(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '#') out += '#';
  }
  return out;
}

Page::Page(const std::string& path, int width, int height)
    : path_(path), tmp_(path + ".plplot." + std::to_string(::getpid())) {
  const std::string extension = std::filesystem::path(path).extension().string();
  DANLU_CHECK(extension == ".png" || extension == ".svg", path,
              ": pictures are .png or .svg files; rename it");
  // PLplot exits the process when it cannot open its file: check first.
  {
    std::ofstream probe(tmp_, std::ios::binary);
    DANLU_CHECK(probe.good(), tmp_, ": cannot create the picture's temp file; is the directory ",
                "there and writable?");
  }
  plgstrm(&previous_);
  plmkstrm(&stream_);
  plsabort(collect_complaint);
  plplot_complaints().clear();
  plsdev(extension == ".png" ? "pngcairo" : "svgcairo");
  plsfnam(tmp_.c_str());
  plspage(kDpi, kDpi, width, height, 0, 0);
  plscmap0n(int(std::size(kPalette)));
  for (int i = 0; i < int(std::size(kPalette)); ++i)
    plscol0(i, kPalette[i].r, kPalette[i].g, kPalette[i].b);
  plinit();
  pladv(0);
  plschr(kCharMm, 1.0);  // the same text size on every page
  width_mm_ = width * kMmPerPixel, height_mm_ = height * kMmPerPixel;
}

Page::~Page() {
  if (done_) return;
  plend1();
  plsstrm(previous_);
  std::error_code ignored;
  std::filesystem::remove(tmp_, ignored);
}

void Page::finish() {
  plend1();
  plsstrm(previous_);
  done_ = true;
  const std::string complaints = plplot_complaints();
  std::string bytes;
  {
    std::ifstream in(tmp_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::error_code ignored;
  std::filesystem::remove(tmp_, ignored);
  DANLU_CHECK(complaints.empty(), path_, ": PLplot could not draw it: ", complaints);
  DANLU_CHECK(!bytes.empty(), path_, ": PLplot wrote nothing; is plplot-driver-cairo installed?");
  io::replace_file(path_, [&](io::AtomicWriter& file) { file.write(bytes); });
}

double Page::char_mm() {
  PLFLT default_mm = 0, current_mm = 0;
  plgchr(&default_mm, &current_mm);
  return current_mm;
}

double Page::text_mm(const std::string& text) {
  // The sans font's mean advance is about 0.7 of PLplot's character height.
  return 0.7 * char_mm() * double(text.size());
}

void Page::viewport_mm(double left, double right, double bottom, double top) const {
  plvpor(left / width_mm_, 1 - right / width_mm_, bottom / height_mm_, 1 - top / height_mm_);
}

void use_viridis() {
  // viridis at five stops: purple, blue, teal, green, yellow.
  const PLFLT at[] = {0, 0.25, 0.5, 0.75, 1};
  const PLFLT r[] = {68 / 255., 59 / 255., 33 / 255., 94 / 255., 253 / 255.};
  const PLFLT g[] = {1 / 255., 82 / 255., 145 / 255., 201 / 255., 231 / 255.};
  const PLFLT b[] = {84 / 255., 139 / 255., 140 / 255., 98 / 255., 37 / 255.};
  plscmap1n(256);
  plscmap1l(1, 5, at, r, g, b, nullptr);
}

void use_greys() {
  const PLFLT at[] = {0, 1}, v[] = {0, 1};
  plscmap1n(256);
  plscmap1l(1, 2, at, v, v, v, nullptr);
}

}  // namespace danlu::cli
