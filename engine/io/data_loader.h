// Mini-batches for a training loop: shuffling (a new seeded permutation every
// epoch), drop_last, augmentation and normalisation, built on the calling
// thread or ahead of it by worker threads. Batches are the same whatever the
// number of workers: the image at position i of epoch e draws its
// augmentation from a generator seeded by (seed, e, i), never from thread
// timing or from the batch it lands in. Sharded (data-parallel training),
// rank r of R takes the r-th slice of every global batch of R * batch_size
// positions, so R ranks see, augmented alike, the images one process would.
//
//   io::DataLoader train(data, io::DataLoaderOptions(128).shuffle(true).seed(1)
//                                  .augmentation(aug).normalization(norm).num_workers(2));
//   for (int64_t e = 0; e < epochs; ++e)
//     for (io::Batch& batch : train.epoch(e)) step(batch.images, batch.labels);
#pragma once

#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "engine/device.h"
#include "engine/io/augment.h"
#include "engine/io/idx.h"
#include "engine/tensor.h"

namespace danlu::io {

// images (B, C, H, W) f32, labels (B) i64; B < batch_size only for the last
// batch of an epoch without drop_last (sharded, B may then be 0).
struct Batch {
  Tensor images;
  Tensor labels;
};

struct DataLoaderOptions {
  int64_t batch_size_ = 1;
  bool shuffle_ = false;    // a new permutation every epoch, else dataset order
  bool drop_last_ = false;  // drop a final batch smaller than batch_size
  uint64_t seed_ = 0;       // seeds the shuffle and the augmentation
  Augmentation augmentation_;     // random transforms: configure on training loaders only
  Normalization normalization_;   // per-channel (x - mean) / std, applied to every batch
  int num_workers_ = 0;  // 0: build each batch in next(); n: n threads build ahead
  // How many batches the workers may build ahead of the training loop (the
  // queue's bound); at least num_workers is used so that no worker idles.
  int prefetch_batches_ = 2;
  // This process's shard: rank shard_rank_ of shard_count_ (1: unsharded).
  int64_t shard_rank_ = 0, shard_count_ = 1;
  // Where batches are handed to the training loop. On a GPU, batch b + 1 is
  // copied (pinned memory, copy stream) while the loop trains on batch b.
  Device device_ = Device::cpu();
  // On a GPU, keep the dataset there and gather and augment each batch there
  // (engine/io/device_dataset.h), when it can be kept (on_device_note() says
  // why not); the batches are the same. No worker threads are needed then.
  bool on_device_ = true;

  DataLoaderOptions() = default;
  explicit DataLoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}
  DataLoaderOptions& batch_size(int64_t v) { batch_size_ = v; return *this; }
  DataLoaderOptions& shuffle(bool v) { shuffle_ = v; return *this; }
  DataLoaderOptions& drop_last(bool v) { drop_last_ = v; return *this; }
  DataLoaderOptions& seed(uint64_t v) { seed_ = v; return *this; }
  DataLoaderOptions& augmentation(const Augmentation& v) { augmentation_ = v; return *this; }
  DataLoaderOptions& normalization(const Normalization& v) { normalization_ = v; return *this; }
  DataLoaderOptions& num_workers(int v) { num_workers_ = v; return *this; }
  DataLoaderOptions& prefetch_batches(int v) { prefetch_batches_ = v; return *this; }
  DataLoaderOptions& device(Device v) { device_ = v; return *this; }
  DataLoaderOptions& on_device(bool v) { on_device_ = v; return *this; }
  DataLoaderOptions& shard(int64_t rank, int64_t count) {
    shard_rank_ = rank, shard_count_ = count;
    return *this;
  }
};

// One pass over the dataset. Iterate it with range-for or call next(); each
// batch is produced once. Destroying it mid-epoch stops and joins its
// workers (a worker finishes the batch it is building first).
class Epoch {
 public:
  Epoch(Epoch&&) noexcept;
  Epoch& operator=(Epoch&&) noexcept;
  ~Epoch();

  // The next batch, or nothing after the last. Rethrows a worker's error.
  std::optional<Batch> next();
  int64_t size() const;  // batches in this epoch

  class iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    explicit iterator(Epoch* epoch) : epoch_(epoch), batch_(epoch->next()) {}
    Batch& operator*() { return *batch_; }
    Batch* operator->() { return &*batch_; }
    iterator& operator++() { batch_ = epoch_->next(); return *this; }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !batch_; }

   private:
    Epoch* epoch_;
    std::optional<Batch> batch_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  friend class DataLoader;
  struct State;
  explicit Epoch(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class DataLoader {
 public:
  // Checks the dataset ((N, C, H, W) f32 images, (N) i64 labels) and the
  // options; bad ones throw a one-line danlu::Error. The loader shares the
  // dataset's tensors, so it and its epochs stay valid on their own.
  DataLoader(const ImageDataset& data, DataLoaderOptions options);

  int64_t size() const;  // batches per epoch
  const DataLoaderOptions& options() const;
  // Whether the dataset lives on the GPU, and if on_device_ asked for it but
  // it could not, why not (empty otherwise).
  bool resident() const;
  const std::string& on_device_note() const;
  // Epoch e (0, 1, ...): its order and augmentation depend only on (seed, e),
  // so a resumed run can start at any epoch.
  Epoch epoch(int64_t e) const;

 private:
  friend class Epoch;
  struct Plan;
  std::shared_ptr<const Plan> plan_;
};

}  // namespace danlu::io
