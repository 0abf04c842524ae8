// Uploading a dataset as bytes, and gathering batches from it (device_dataset.h).
#include "engine/io/device_dataset.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "engine/cuda_context.h"
#include "engine/cuda_copy.h"
#include "engine/io/data_loader.h"
#include "engine/printf_string.h"

#ifdef DANLU_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/check.h"
#include "kernels/gather.h"
#endif

namespace danlu::io {

#ifdef DANLU_WITH_CUDA

std::shared_ptr<const DeviceDataset> DeviceDataset::upload(const ImageDataset& data, Device device,
                                                           std::string& why) {
  const Shape& s = data.images.shape();
  if (s[1] > kernels::cuda::kGatherChannels) {
    why = printf_string("%lld channels (the GPU gather takes up to %d)",
                        static_cast<long long>(s[1]), kernels::cuda::kGatherChannels);
    return nullptr;
  }
  if (s[0] > INT32_MAX || s[2] > INT16_MAX || s[3] > INT16_MAX) {
    why = "more images or larger ones than the GPU gather indexes (2^31 images of 32767 x 32767)";
    return nullptr;
  }
  const int64_t n = data.images.numel();
  size_t free_bytes = 0, total_bytes = 0;
  {
    CudaDeviceGuard guard(device);
    DANLU_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  }
  if (static_cast<size_t>(n) > free_bytes / 4) {
    why = printf_string("its %lld bytes are more than a quarter of the GPU's free memory",
                        static_cast<long long>(n));
    return nullptr;
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  const float* px = data.images.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const long b = std::lrint(px[i] * 255.0f);
    if (b < 0 || b > 255 || static_cast<float>(b) / 255.0f != px[i]) {
      why = printf_string("pixel %lld is %.9g, not a byte / 255", static_cast<long long>(i),
                          static_cast<double>(px[i]));
      return nullptr;
    }
    bytes[size_t(i)] = static_cast<uint8_t>(b);
  }
  auto d = std::make_shared<DeviceDataset>();
  d->device_ = device;
  d->channels_ = s[1], d->height_ = s[2], d->width_ = s[3];
  d->images_ = Storage::allocate(bytes.size(), device);
  copy_bytes(d->images_->data(), device, bytes.data(), Device::cpu(), bytes.size());
  d->labels_ = data.labels.to(device);
  return d;
}

Batch DeviceDataset::gather(const std::vector<int64_t>& indices,
                            const std::vector<AugmentDraws>& draws, const Augmentation& aug,
                            const Normalization& norm) const {
  using namespace kernels::cuda;
  const int64_t count = static_cast<int64_t>(indices.size());
  const TensorOptions on_device = TensorOptions().device(device_);
  Batch batch{Tensor::empty({count, channels_, height_, width_}, on_device),
              Tensor::empty({count}, TensorOptions(DType::i64).device(device_))};
  GatherSource source{static_cast<const uint8_t*>(images_->data()),
                      labels_.data<int64_t>(),
                      static_cast<int32_t>(channels_),
                      static_cast<int32_t>(height_),
                      static_cast<int32_t>(width_),
                      static_cast<int32_t>(aug.random_crop ? aug.crop_padding : 0),
                      {},
                      {},
                      norm.enabled() ? 1 : 0,
                      aug.erasing.value};
  for (int64_t c = 0; c < channels_ && norm.enabled(); ++c)
    source.mean[c] = norm.mean[size_t(c)], source.inv_std[c] = 1.0f / norm.std[size_t(c)];
  GatherBatch launch{};
  for (int64_t first = 0; first < count; first += kGatherImages) {
    launch.first = static_cast<int32_t>(first);
    launch.count = static_cast<int32_t>(std::min<int64_t>(kGatherImages, count - first));
    for (int32_t i = 0; i < launch.count; ++i) {
      const AugmentDraws& d = draws[size_t(first + i)];
      GatherImage& im = launch.images[i];
      im.index = static_cast<int32_t>(indices[size_t(first + i)]);
      im.top = static_cast<int16_t>(d.top), im.left = static_cast<int16_t>(d.left);
      im.flip = d.flip ? 1 : 0;
      const Box box = d.erase.value_or(Box{0, 0, 0, 0});
      im.erase_top = static_cast<int16_t>(box.top), im.erase_left = static_cast<int16_t>(box.left);
      im.erase_height = static_cast<int16_t>(box.height);
      im.erase_width = static_cast<int16_t>(box.width);
    }
    gather_batch(source, launch, batch.images.data<float>(), batch.labels.data<int64_t>(),
                 compute_stream(device_));
  }
  return batch;
}

#else  // a CPU-only build keeps every dataset on the host

std::shared_ptr<const DeviceDataset> DeviceDataset::upload(const ImageDataset&, Device,
                                                           std::string& why) {
  why = "danlu was built without the CUDA backend";
  return nullptr;
}

Batch DeviceDataset::gather(const std::vector<int64_t>&, const std::vector<AugmentDraws>&,
                            const Augmentation&, const Normalization&) const {
  DANLU_FAIL("a GPU-resident dataset needs the CUDA backend");
}

#endif

}  // namespace danlu::io
