// A dataset kept on a GPU, and training batches gathered and augmented there
// (kernels/gather.h): the images as bytes (Fashion-MNIST's 60,000 are 47 MB),
// the labels as i64. The host only draws each image's crop, flip and erase
// box from the image's own seeded generator, exactly as the CPU loader does
// (io::draw_augmentation), so both loaders give the same batches, bit for
// bit; the pixels never cross the PCIe bus again after the upload.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/io/augment.h"
#include "engine/io/idx.h"
#include "engine/storage.h"
#include "engine/tensor.h"

namespace danlu::io {

struct Batch;

class DeviceDataset {
 public:
  // `data` on `device`, or null with the reason in `why` when it cannot be
  // kept there: a pixel that is not a byte / 255 (the readers'
  // conversion), more than 4 channels, more or larger images than the
  // gather indexes, or images that would take more than a quarter of the
  // GPU's free memory.
  static std::shared_ptr<const DeviceDataset> upload(const ImageDataset& data, Device device,
                                                     std::string& why);

  // The batch of dataset examples `indices`, transformed with `draws`
  // (one each, from draw_augmentation) and `norm`, on the device's compute
  // stream.
  Batch gather(const std::vector<int64_t>& indices, const std::vector<AugmentDraws>& draws,
               const Augmentation& aug, const Normalization& norm) const;

  size_t bytes() const { return images_->bytes(); }

 private:
  Device device_;
  std::shared_ptr<Storage> images_;  // (N, C, H, W) bytes
  Tensor labels_;                    // (N) i64
  int64_t channels_ = 0, height_ = 0, width_ = 0;
};

}  // namespace danlu::io
