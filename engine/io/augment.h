// Per-image data augmentation on (C, H, W) float images, with torchvision's
// semantics: RandomCrop(size, padding), RandomHorizontalFlip, Normalize and
// RandomErasing. Every random choice is drawn from the Generator passed in,
// so the same generator state gives the same augmented image.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/random.h"

namespace danlu::io {

// torchvision.transforms.RandomErasing's parameters (value 0: after
// normalisation that is the channel mean).
struct RandomErasing {
  double p = 0.5;                          // probability of erasing a box
  double scale_min = 0.02, scale_max = 0.33;  // box area / image area
  double ratio_min = 0.3, ratio_max = 3.3;    // box height / width
  float value = 0.0f;
};

// Which random augmentations a training loader applies, and how.
struct Augmentation {
  bool random_crop = false;  // zero-pad by crop_padding, crop back to H x W
  int64_t crop_padding = 4;
  bool horizontal_flip = false;  // mirror left-right with probability flip_p
  double flip_p = 0.5;
  bool random_erasing = false;
  RandomErasing erasing;

  bool any() const { return random_crop || horizontal_flip || random_erasing; }
};

// Per-channel standardisation x = (x - mean[c]) / std[c]; empty = off.
struct Normalization {
  std::vector<float> mean, std;

  bool enabled() const { return !mean.empty(); }
};

// A box of rows [top, top + height) and columns [left, left + width).
struct Box {
  int64_t top, left, height, width;
};

// Throws a one-line danlu::Error for parameters torchvision would refuse, or
// for a normalisation whose size is not `channels`.
void validate(const Augmentation& aug, const Normalization& norm, int64_t channels);

// dst = the H x W window at (top, left) of src zero-padded by `padding` on
// every side; top and left lie in [0, 2 * padding]. src and dst must differ.
void crop_padded(const float* src, float* dst, int64_t c, int64_t h, int64_t w, int64_t padding,
                 int64_t top, int64_t left);
// crop_padded at a uniformly random offset (RandomCrop(size, padding)).
void random_crop(const float* src, float* dst, int64_t c, int64_t h, int64_t w, int64_t padding,
                 Generator& gen);

// Reverses every row. random_hflip_ does so with probability p and says whether it did.
void hflip_(float* image, int64_t c, int64_t h, int64_t w);
bool random_hflip_(float* image, int64_t c, int64_t h, int64_t w, double p, Generator& gen);

// RandomErasing's draw: with probability p, up to 10 attempts at a box of
// random area and aspect ratio that fits the image; nothing when none fits.
std::optional<Box> random_erasing_box(int64_t h, int64_t w, const RandomErasing& opts,
                                      Generator& gen);
void erase_(float* image, int64_t c, int64_t h, int64_t w, const Box& box, float value);
// Draws a box and erases it in every channel; returns the box, if any.
std::optional<Box> random_erase_(float* image, int64_t c, int64_t h, int64_t w,
                                 const RandomErasing& opts, Generator& gen);

void normalize_(float* image, int64_t c, int64_t h, int64_t w, const Normalization& norm);

// What transform() draws for one example, in its order: the crop's offset
// (top, left in [0, 2 * padding]; padding, padding without random_crop, the
// identity), whether to flip, and the box to erase. The GPU-resident loader
// draws these on the host and applies them on the GPU (device_dataset.h).
struct AugmentDraws {
  int64_t top = 0, left = 0;
  bool flip = false;
  std::optional<Box> erase;
};
AugmentDraws draw_augmentation(int64_t h, int64_t w, const Augmentation& aug, Generator& gen);

// One training example, from the dataset (src) to its slot in a batch (dst),
// in torchvision's usual order: crop, flip, normalise, erase. Without
// augmentation this is a copy plus normalisation and draws nothing.
void transform(const float* src, float* dst, int64_t c, int64_t h, int64_t w,
               const Augmentation& aug, const Normalization& norm, Generator& gen);

}  // namespace danlu::io
