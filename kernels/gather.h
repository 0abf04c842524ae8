// Gathering a training batch on the GPU from a dataset kept there as bytes:
// each image is cropped (from its zero-padded self), flipped, converted to
// f32 (byte / 255, as the dataset readers do), normalised and erased, in
// torchvision's order, with the offsets, flips and boxes the host drew
// (engine/io/augment.h's draw_augmentation), so a batch equals the CPU
// loader's bit for bit. The per-image draws travel as a kernel argument, so
// a batch needs no upload and no staging buffer.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels::cuda {

// One image of a gather: its dataset index, crop offset in the padded image
// (the identity is padding, padding), flip, and erase box (height 0: none).
struct GatherImage {
  int32_t index;
  int16_t top, left;
  int16_t erase_top, erase_left, erase_height, erase_width;
  int32_t flip;
};

constexpr int kGatherImages = 128;  // images per launch: 2 KiB of arguments
constexpr int kGatherChannels = 4;  // channels normalisation constants are passed for

// What one launch gathers: `count` images into rows first, first + 1, ...
struct GatherBatch {
  int32_t count;
  int32_t first;
  GatherImage images[kGatherImages];
};

// The dataset and the per-channel constants of every launch.
struct GatherSource {
  const uint8_t* images;  // (N, C, H, W) bytes
  const int64_t* labels;  // (N)
  int32_t channels, height, width, padding;
  float mean[kGatherChannels], inv_std[kGatherChannels];  // identity: 0, 1
  int32_t normalize;
  float erase_value;
};

// out (count, C, H, W) f32 rows [first, first + count) and out_labels, on `stream`.
void gather_batch(const GatherSource& source, const GatherBatch& batch, float* out,
                  int64_t* out_labels, Stream stream);

}  // namespace danlu::kernels::cuda
