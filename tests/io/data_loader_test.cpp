// DataLoader: every example once per epoch, per-epoch and per-seed orders,
// drop_last, a batch larger than the dataset, identical batches whatever the
// number of workers, data-parallel shards, shutdown mid-epoch, and one-line
// errors for bad options.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include "engine/io/data_loader.h"

namespace danlu::io {
namespace {

// n examples of shape (2, 4, 4); example i holds i + pixel / 100 and label i,
// so a batch says which examples it holds.
ImageDataset numbered(int64_t n) {
  ImageDataset ds{Tensor::empty({n, 2, 4, 4}), Tensor::empty({n}, DType::i64)};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < 32; ++p) ds.images.data<float>()[i * 32 + p] = i + p / 100.0f;
    ds.labels.data<int64_t>()[i] = i;
  }
  return ds;
}

std::vector<int64_t> labels_of(const Batch& b) {
  const int64_t* p = b.labels.data<int64_t>();
  return {p, p + b.labels.numel()};
}

// The labels of every batch of epoch e, in order.
std::vector<std::vector<int64_t>> epoch_labels(const DataLoader& loader, int64_t e) {
  std::vector<std::vector<int64_t>> out;
  for (Batch& b : loader.epoch(e)) out.push_back(labels_of(b));
  return out;
}

std::vector<int64_t> flat(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(DataLoader, ShuffledEpochVisitsEveryExampleOnce) {
  const ImageDataset ds = numbered(103);
  DataLoader loader(ds, DataLoaderOptions(10).shuffle(true).seed(7));
  EXPECT_EQ(loader.size(), 11);
  int64_t batches = 0;
  std::vector<int64_t> seen;
  for (Batch& b : loader.epoch(0)) {
    EXPECT_EQ(b.images.shape(), Shape({batches < 10 ? 10 : 3, 2, 4, 4}));
    for (int64_t i = 0; i < b.labels.numel(); ++i) {  // each image travels with its label
      const int64_t label = b.labels.data<int64_t>()[i];
      ASSERT_EQ(b.images.data<float>()[i * 32 + 5], label + 0.05f);
      seen.push_back(label);
    }
    ++batches;
  }
  EXPECT_EQ(batches, 11);
  std::vector<int64_t> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> all(103);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(sorted, all);
  EXPECT_NE(seen, all);  // shuffled
}

TEST(DataLoader, OrderDependsOnEpochAndSeedOnly) {
  const ImageDataset ds = numbered(50);
  DataLoader a(ds, DataLoaderOptions(8).shuffle(true).seed(1));
  DataLoader b(ds, DataLoaderOptions(8).shuffle(true).seed(1));
  DataLoader c(ds, DataLoaderOptions(8).shuffle(true).seed(2));
  EXPECT_NE(flat(epoch_labels(a, 0)), flat(epoch_labels(a, 1)));
  EXPECT_EQ(epoch_labels(a, 1), epoch_labels(b, 1));
  EXPECT_EQ(epoch_labels(a, 3), epoch_labels(a, 3));  // any epoch, any time: resumable
  EXPECT_NE(flat(epoch_labels(a, 0)), flat(epoch_labels(c, 0)));

  DataLoader plain(ds, DataLoaderOptions(8));
  std::vector<int64_t> all(50);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(flat(epoch_labels(plain, 0)), all);
  EXPECT_EQ(flat(epoch_labels(plain, 1)), all);
}

TEST(DataLoader, DropLastDropsOnlyTheShortBatch) {
  const ImageDataset ds = numbered(103);
  DataLoader loader(ds, DataLoaderOptions(10).shuffle(true).drop_last(true));
  EXPECT_EQ(loader.size(), 10);
  auto batches = epoch_labels(loader, 0);
  ASSERT_EQ(batches.size(), 10u);
  for (const auto& b : batches) EXPECT_EQ(b.size(), 10u);
  std::vector<int64_t> seen = flat(batches);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 100u);

  DataLoader exact(numbered(20), DataLoaderOptions(10).drop_last(true));
  EXPECT_EQ(exact.size(), 2);
}

TEST(DataLoader, BatchLargerThanTheDataset) {
  const ImageDataset ds = numbered(5);
  DataLoader loader(ds, DataLoaderOptions(8).shuffle(true).num_workers(2));
  ASSERT_EQ(loader.size(), 1);
  Epoch epoch = loader.epoch(0);
  std::optional<Batch> b = epoch.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->images.shape(), Shape({5, 2, 4, 4}));
  EXPECT_FALSE(epoch.next());
  EXPECT_FALSE(epoch.next());  // stays finished

  DataLoader dropped(ds, DataLoaderOptions(8).drop_last(true).num_workers(2));
  EXPECT_EQ(dropped.size(), 0);
  EXPECT_TRUE(epoch_labels(dropped, 0).empty());
}

TEST(DataLoader, SameBatchesForAnyNumberOfWorkers) {
  const ImageDataset ds = numbered(61);
  Augmentation aug;
  aug.random_crop = aug.horizontal_flip = aug.random_erasing = true;
  aug.crop_padding = 1;
  const Normalization norm{{0.5f, 0.25f}, {2.0f, 4.0f}};
  const auto options = [&](int workers, int prefetch) {
    return DataLoaderOptions(7).shuffle(true).seed(3).augmentation(aug).normalization(norm)
        .num_workers(workers).prefetch_batches(prefetch);
  };
  std::vector<std::vector<double>> reference;
  for (Batch& b : DataLoader(ds, options(0, 2)).epoch(2)) {
    reference.push_back(b.images.to_vector());
    reference.push_back(b.labels.to_vector());
  }
  for (auto [workers, prefetch] : {std::pair{1, 1}, {1, 4}, {3, 1}, {3, 8}}) {
    std::vector<std::vector<double>> got;
    for (Batch& b : DataLoader(ds, options(workers, prefetch)).epoch(2)) {
      got.push_back(b.images.to_vector());
      got.push_back(b.labels.to_vector());
    }
    EXPECT_EQ(got, reference) << workers << " workers, prefetch " << prefetch;
  }
  // The augmentation is on: batch 0 is not just the normalised examples.
  Batch first = *DataLoader(ds, options(0, 2).augmentation({})).epoch(2).next();
  EXPECT_EQ(first.labels.to_vector(), reference[1]);
  EXPECT_NE(first.images.to_vector(), reference[0]);
}

// Data-parallel shards: rank r's batch b is rows [r * 5, r * 5 + 5) of the
// unsharded loader's batch b of 5 * ranks, augmentation included (it is
// drawn per position in the epoch, not per batch); the last global batch
// may leave a rank's slice short or empty.
TEST(DataLoader, ShardsAreSlicesOfTheGlobalBatch) {
  const ImageDataset ds = numbered(47);
  Augmentation aug;
  aug.random_crop = aug.horizontal_flip = aug.random_erasing = true;
  aug.crop_padding = 1;
  for (bool drop_last : {true, false}) {
    const auto options = [&](int64_t batch) {
      return DataLoaderOptions(batch).shuffle(true).seed(5).augmentation(aug).drop_last(drop_last);
    };
    std::vector<Batch> global;
    for (Batch& b : DataLoader(ds, options(15)).epoch(1)) global.push_back(b);
    for (int64_t rank = 0; rank < 3; ++rank) {
      const DataLoader shard(ds, options(5).shard(rank, 3));
      ASSERT_EQ(shard.size(), static_cast<int64_t>(global.size()));
      int64_t b = 0;
      for (Batch& mine : shard.epoch(1)) {
        const std::vector<double> all = global[b].images.to_vector();
        const std::vector<double> labels = global[b].labels.to_vector();
        const int64_t first = std::min<int64_t>(rank * 5, labels.size());
        const int64_t count = std::min<int64_t>(5, labels.size() - first);
        EXPECT_EQ(mine.labels.to_vector(), std::vector<double>(labels.begin() + first,
                                                               labels.begin() + first + count))
            << "rank " << rank << " batch " << b << (drop_last ? " drop_last" : "");
        EXPECT_EQ(mine.images.to_vector(), std::vector<double>(all.begin() + first * 32,
                                                               all.begin() + (first + count) * 32));
        ++b;
      }
    }
  }
}

TEST(DataLoader, NormalisationWithoutAugmentation) {
  const ImageDataset ds = numbered(3);
  DataLoader loader(ds, DataLoaderOptions(3).normalization({{1.0f, 2.0f}, {0.5f, 0.25f}}));
  Batch b = *loader.epoch(0).next();
  const float* x = b.images.data<float>();
  EXPECT_FLOAT_EQ(x[32 * 2 + 1], (2.01f - 1.0f) / 0.5f);   // example 2, channel 0
  EXPECT_FLOAT_EQ(x[32 * 2 + 17], (2.17f - 2.0f) / 0.25f);  // example 2, channel 1
}

TEST(DataLoader, DestroyingMidEpochStopsTheWorkers) {
  const ImageDataset ds = numbered(200);
  for (int workers : {1, 3}) {
    DataLoader loader(ds, DataLoaderOptions(2).shuffle(true).num_workers(workers));
    {
      Epoch untouched = loader.epoch(0);  // workers fill the queue, then block
    }
    int64_t taken = 0;
    for (Batch& b : loader.epoch(1)) {
      (void)b;
      if (++taken == 3) break;
    }
    EXPECT_EQ(taken, 3);
  }
  // An epoch outlives its loader: it shares the plan, not a reference to it.
  std::optional<Epoch> orphan;
  {
    DataLoader loader(ds, DataLoaderOptions(4).num_workers(2));
    orphan.emplace(loader.epoch(0));
  }
  EXPECT_EQ(orphan->next()->labels.to_vector(), (std::vector<double>{0, 1, 2, 3}));
  orphan.reset();
}

TEST(DataLoader, BadOptionsGiveOneLineErrors) {
  const ImageDataset ds = numbered(4);
  const auto message = [&](const ImageDataset& data, const DataLoaderOptions& opts) {
    try {
      DataLoader loader(data, opts);
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(ds, DataLoaderOptions(0)).find("batch_size must be >= 1, got 0"),
            std::string::npos);
  EXPECT_NE(message(ds, DataLoaderOptions(2).num_workers(-1)).find("num_workers"),
            std::string::npos);
  EXPECT_NE(message(ds, DataLoaderOptions(2).prefetch_batches(0)).find("prefetch_batches"),
            std::string::npos);
  EXPECT_NE(message(ds, DataLoaderOptions(2).shard(2, 2)).find("shard rank 2 of 2"),
            std::string::npos);
  EXPECT_NE(message(ds, DataLoaderOptions(2).normalization({{0.5f}, {1.0f}})).find("per channel"),
            std::string::npos);
  Augmentation bad;
  bad.erasing.p = 2;
  EXPECT_NE(message(ds, DataLoaderOptions(2).augmentation(bad)).find("erasing p"),
            std::string::npos);
  ImageDataset flat_images{ds.images.reshape({4, 32}), ds.labels};
  EXPECT_NE(message(flat_images, DataLoaderOptions(2)).find("(N, C, H, W)"), std::string::npos);
  ImageDataset float_labels{ds.images, ds.labels.to(DType::f32)};
  EXPECT_NE(message(float_labels, DataLoaderOptions(2)).find("i64 labels"), std::string::npos);
  EXPECT_THROW(DataLoader(ds, DataLoaderOptions(2)).epoch(-1), Error);
}

}  // namespace
}  // namespace danlu::io
