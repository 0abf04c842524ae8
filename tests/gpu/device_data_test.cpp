// The GPU-resident loader (engine/io/device_dataset.h): batches gathered and
// augmented on the GPU equal the CPU loader's bit for bit, with every
// augmentation on, over epochs, shards, partial batches and batches larger
// than one gather launch; a dataset that cannot be kept as bytes stays on
// the host and says why.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/io/data_loader.h"
#include "tests/support/cuda_buffer.h"

namespace danlu::io {
namespace {

// n images (c, h, w) of byte / 255 pixels, labels i % 10.
ImageDataset byte_images(int64_t n, int64_t c, int64_t h, int64_t w) {
  ImageDataset d{Tensor::empty({n, c, h, w}), Tensor::empty({n}, DType::i64)};
  float* px = d.images.data<float>();
  for (int64_t i = 0; i < d.images.numel(); ++i)
    px[i] = static_cast<float>((i * 37 + i / 5) % 256) / 255.0f;
  for (int64_t i = 0; i < n; ++i) d.labels.data<int64_t>()[i] = i % 10;
  return d;
}

DataLoaderOptions augmented(int64_t batch) {
  Augmentation aug;
  aug.random_crop = aug.horizontal_flip = aug.random_erasing = true;
  aug.crop_padding = 2;
  aug.erasing.p = 0.7;
  aug.erasing.value = 0.25f;
  Normalization norm{{0.5f, 0.25f, 0.125f}, {0.3f, 0.2f, 0.7f}};
  return DataLoaderOptions(batch).shuffle(true).seed(11).augmentation(aug).normalization(norm);
}

void expect_same_batches(const DataLoader& cpu, const DataLoader& gpu, int64_t epochs) {
  ASSERT_TRUE(gpu.resident()) << gpu.on_device_note();
  for (int64_t e = 0; e < epochs; ++e) {
    Epoch a = cpu.epoch(e), b = gpu.epoch(e);
    ASSERT_EQ(a.size(), b.size());
    for (int64_t i = 0; i < a.size(); ++i) {
      const Batch x = *a.next(), y = *b.next();
      ASSERT_TRUE(y.images.device().is_cuda());
      EXPECT_EQ(y.images.shape(), x.images.shape());
      EXPECT_EQ(y.images.to(Device::cpu()).to_vector(), x.images.to_vector())
          << "epoch " << e << " batch " << i;
      EXPECT_EQ(y.labels.to(Device::cpu()).to_vector(), x.labels.to_vector());
    }
    EXPECT_FALSE(b.next());
  }
}

TEST(GpuResidentData, BatchesEqualTheCpuLoadersBitForBit) {
  DANLU_REQUIRE_GPU();
  const ImageDataset data = byte_images(300, 3, 9, 7);
  // 130 images a batch: two gather launches of up to 128; the last batch partial.
  const DataLoader cpu(data, augmented(130));
  const DataLoader gpu(data, augmented(130).device(Device::cuda(0)));
  expect_same_batches(cpu, gpu, 2);
}

TEST(GpuResidentData, ShardsAndPlainBatchesMatchToo) {
  DANLU_REQUIRE_GPU();
  const ImageDataset data = byte_images(50, 3, 5, 6);
  for (int64_t rank = 0; rank < 2; ++rank) {
    const DataLoader cpu(data, augmented(8).shard(rank, 2).drop_last(true));
    const DataLoader gpu(data, augmented(8).shard(rank, 2).drop_last(true).device(Device::cuda(0)));
    const DataLoader cpu_plain(data, DataLoaderOptions(8).shard(rank, 2));
    const DataLoader gpu_plain(data, DataLoaderOptions(8).shard(rank, 2).device(Device::cuda(0)));
    expect_same_batches(cpu, gpu, 1);
    expect_same_batches(cpu_plain, gpu_plain, 1);
  }
}

TEST(GpuResidentData, PixelsThatAreNotBytesStayOnTheHost) {
  DANLU_REQUIRE_GPU();
  ImageDataset data = byte_images(4, 1, 2, 2);
  data.images.data<float>()[5] = 0.3f;  // 76.5 / 255
  const DataLoader gpu(data, DataLoaderOptions(2).device(Device::cuda(0)));
  EXPECT_FALSE(gpu.resident());
  EXPECT_EQ(gpu.on_device_note(), "pixel 5 is 0.300000012, not a byte / 255");
  EXPECT_TRUE(gpu.epoch(0).next()->images.device().is_cuda());  // prefetched as before
  const DataLoader off(byte_images(4, 1, 2, 2),
                       DataLoaderOptions(2).device(Device::cuda(0)).on_device(false));
  EXPECT_FALSE(off.resident());
  EXPECT_EQ(off.on_device_note(), "");
  Augmentation wide;
  wide.random_crop = true;
  wide.crop_padding = 20000;
  const DataLoader padded(byte_images(4, 1, 2, 2),
                          DataLoaderOptions(2).augmentation(wide).device(Device::cuda(0)));
  EXPECT_FALSE(padded.resident());
  EXPECT_EQ(padded.on_device_note(), "a crop padding beyond what the GPU gather indexes (16383)");
}

}  // namespace
}  // namespace danlu::io
