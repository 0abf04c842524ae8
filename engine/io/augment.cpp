// The augmentations as plain loops over one (C, H, W) image. The random
// draws follow torchvision's order so a reader can put the two side by side.
#include "engine/io/augment.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace danlu::io {

namespace {

double uniform01(Generator& gen) { return gen.uniform(1)[0]; }

double uniform(Generator& gen, double lo, double hi) { return lo + (hi - lo) * uniform01(gen); }

}  // namespace

void validate(const Augmentation& aug, const Normalization& norm, int64_t channels) {
  DANLU_CHECK(aug.crop_padding >= 0, "augmentation: crop_padding must be >= 0, got ",
              aug.crop_padding);
  DANLU_CHECK(aug.flip_p >= 0 && aug.flip_p <= 1, "augmentation: flip_p must be in [0, 1], got ",
              aug.flip_p);
  const RandomErasing& e = aug.erasing;
  DANLU_CHECK(e.p >= 0 && e.p <= 1, "augmentation: erasing p must be in [0, 1], got ", e.p);
  DANLU_CHECK(0 <= e.scale_min && e.scale_min <= e.scale_max && e.scale_max <= 1,
              "augmentation: erasing scale must satisfy 0 <= min <= max <= 1, got (",
              e.scale_min, ", ", e.scale_max, ")");
  DANLU_CHECK(0 < e.ratio_min && e.ratio_min <= e.ratio_max,
              "augmentation: erasing ratio must satisfy 0 < min <= max, got (", e.ratio_min,
              ", ", e.ratio_max, ")");
  if (!norm.enabled()) return;
  DANLU_CHECK(norm.mean.size() == static_cast<size_t>(channels) && norm.std.size() == norm.mean.size(),
              "normalisation: expected one mean and one std per channel (", channels,
              "), got ", norm.mean.size(), " means and ", norm.std.size(), " stds");
  for (float s : norm.std)
    DANLU_CHECK(s > 0, "normalisation: every std must be positive, got ", s);
}

void crop_padded(const float* src, float* dst, int64_t c, int64_t h, int64_t w, int64_t padding,
                 int64_t top, int64_t left) {
  // Output pixel (y, x) is padded pixel (y + top, x + left), i.e. source
  // pixel (y + dy, x + dx), or zero where that falls into the padding.
  const int64_t dy = top - padding, dx = left - padding;
  const int64_t x0 = std::clamp<int64_t>(-dx, 0, w), x1 = std::clamp<int64_t>(w - dx, 0, w);
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t y = 0; y < h; ++y) {
      float* out = dst + (ch * h + y) * w;
      const int64_t sy = y + dy;
      if (sy < 0 || sy >= h || x0 >= x1) {
        std::fill(out, out + w, 0.0f);
        continue;
      }
      const float* in = src + (ch * h + sy) * w;
      std::fill(out, out + x0, 0.0f);
      std::copy(in + x0 + dx, in + x1 + dx, out + x0);
      std::fill(out + x1, out + w, 0.0f);
    }
  }
}

void random_crop(const float* src, float* dst, int64_t c, int64_t h, int64_t w, int64_t padding,
                 Generator& gen) {
  const int64_t top = static_cast<int64_t>(gen.random_below(2 * padding + 1));
  const int64_t left = static_cast<int64_t>(gen.random_below(2 * padding + 1));
  crop_padded(src, dst, c, h, w, padding, top, left);
}

void hflip_(float* image, int64_t c, int64_t h, int64_t w) {
  for (int64_t row = 0; row < c * h; ++row) std::reverse(image + row * w, image + (row + 1) * w);
}

bool random_hflip_(float* image, int64_t c, int64_t h, int64_t w, double p, Generator& gen) {
  if (uniform01(gen) >= p) return false;
  hflip_(image, c, h, w);
  return true;
}

std::optional<Box> random_erasing_box(int64_t h, int64_t w, const RandomErasing& opts,
                                      Generator& gen) {
  if (uniform01(gen) >= opts.p) return std::nullopt;
  const double area = static_cast<double>(h * w);
  const double log_lo = std::log(opts.ratio_min), log_hi = std::log(opts.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * uniform(gen, opts.scale_min, opts.scale_max);
    const double ratio = std::exp(uniform(gen, log_lo, log_hi));
    // nearbyint rounds halves to even, as Python's round() does.
    const auto bh = static_cast<int64_t>(std::nearbyint(std::sqrt(target * ratio)));
    const auto bw = static_cast<int64_t>(std::nearbyint(std::sqrt(target / ratio)));
    if (!(bh < h && bw < w)) continue;
    const auto top = static_cast<int64_t>(gen.random_below(h - bh + 1));
    const auto left = static_cast<int64_t>(gen.random_below(w - bw + 1));
    return Box{top, left, bh, bw};
  }
  return std::nullopt;
}

void erase_(float* image, int64_t c, int64_t h, int64_t w, const Box& box, float value) {
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = box.top; y < box.top + box.height; ++y) {
      float* row = image + (ch * h + y) * w + box.left;
      std::fill(row, row + box.width, value);
    }
}

std::optional<Box> random_erase_(float* image, int64_t c, int64_t h, int64_t w,
                                 const RandomErasing& opts, Generator& gen) {
  std::optional<Box> box = random_erasing_box(h, w, opts, gen);
  if (box) erase_(image, c, h, w, *box, opts.value);
  return box;
}

void normalize_(float* image, int64_t c, int64_t h, int64_t w, const Normalization& norm) {
  for (int64_t ch = 0; ch < c; ++ch) {
    const float mean = norm.mean[ch], inv = 1.0f / norm.std[ch];
    float* plane = image + ch * h * w;
    for (int64_t i = 0; i < h * w; ++i) plane[i] = (plane[i] - mean) * inv;
  }
}

AugmentDraws draw_augmentation(int64_t h, int64_t w, const Augmentation& aug, Generator& gen) {
  AugmentDraws d;
  if (aug.random_crop) {
    d.top = static_cast<int64_t>(gen.random_below(2 * aug.crop_padding + 1));
    d.left = static_cast<int64_t>(gen.random_below(2 * aug.crop_padding + 1));
  }
  if (aug.horizontal_flip) d.flip = uniform01(gen) < aug.flip_p;
  if (aug.random_erasing) d.erase = random_erasing_box(h, w, aug.erasing, gen);
  return d;
}

void transform(const float* src, float* dst, int64_t c, int64_t h, int64_t w,
               const Augmentation& aug, const Normalization& norm, Generator& gen) {
  const AugmentDraws d = draw_augmentation(h, w, aug, gen);
  if (aug.random_crop)
    crop_padded(src, dst, c, h, w, aug.crop_padding, d.top, d.left);
  else
    std::copy(src, src + c * h * w, dst);
  if (d.flip) hflip_(dst, c, h, w);
  if (norm.enabled()) normalize_(dst, c, h, w, norm);
  if (d.erase) erase_(dst, c, h, w, *d.erase, aug.erasing.value);
}

}  // namespace danlu::io
