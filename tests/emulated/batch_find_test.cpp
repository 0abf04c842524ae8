// `danlu batch-find` on the emulated GPU with its memory limited: the CUDA
// pool's peak for each batch, the stop at the first allocation that fails,
// and the pool's bytes in use back where they were after it.
#include <gtest/gtest.h>

#include "engine/cuda_memory.h"
#include "kernels/emulated/device_memory.h"
#include "train/batch_find.h"
#include "train/data.h"

namespace danlu::train {
namespace {

class EmulatedBatchFind : public ::testing::Test {
 protected:
  void TearDown() override { emu::set_device_memory(0); }
};

TEST_F(EmulatedBatchFind, ALimitedPoolStopsTheSearchWithEveryBufferReleased) {
  const TrainConfig c = parse_config(
      {{"model", {{"preset", "mlp"}, {"in_features", 784}, {"hidden", {64}}, {"num_classes", 10}}},
       {"data", {{"train_limit", 128}, {"num_workers", 0}}},
       {"batch_size", 32},
       {"optimizer", {{"type", "SGD"}, {"lr", 0.02}, {"momentum", 0.9}}}});
  const io::ImageDataset data = load_split(c.data, true);
  const Device gpu = Device::cuda(0);
  BatchFindOptions o;
  o.steps = 1, o.warmup_steps = 0, o.max_batch = 64;
  const BatchSearch free = batch_find(c, gpu, data, o);
  ASSERT_EQ(free.trials.size(), 3u);
  for (size_t i = 0; i < free.trials.size(); ++i) {
    EXPECT_FALSE(free.trials[i].out_of_memory);
    if (i > 0) {
      EXPECT_GT(free.trials[i].peak_bytes, free.trials[i - 1].peak_bytes);
    }
  }
  // A device halfway between batch 32's peak and batch 64's.
  const uint64_t limit = (free.trials[1].peak_bytes + free.trials[2].peak_bytes) / 2;
  const uint64_t held = cuda_memory_stats(gpu).in_use;
  emu::set_device_memory(limit);
  const BatchSearch capped = batch_find(c, gpu, data, o);
  ASSERT_EQ(capped.trials.size(), 3u);
  EXPECT_FALSE(capped.trials[0].out_of_memory);
  EXPECT_FALSE(capped.trials[1].out_of_memory);
  EXPECT_EQ(capped.trials[1].peak_bytes, free.trials[1].peak_bytes);
  const BatchTrial& failed = capped.trials[2];
  EXPECT_TRUE(failed.out_of_memory);
  EXPECT_NE(failed.failure.find("out of GPU memory on cuda:0"), std::string::npos)
      << failed.failure;
  EXPECT_LE(failed.peak_bytes, limit);
  EXPECT_EQ(capped.device_bytes, limit);  // percentages are of the device's memory
  EXPECT_EQ(capped.held_after, capped.held_before);
  EXPECT_EQ(cuda_memory_stats(gpu).in_use, held);
}

}  // namespace
}  // namespace danlu::train
