// The batch-size search of `danlu batch-find`: batch 16, 32, 64, ... up to a
// cap, each a few real training steps timed by measure_steps()
// (train/measure.h) from a fresh model and optimizer, with the device's peak
// memory (the CUDA pool's on a GPU, danlu's host tensors on the CPU). The
// search stops at the cap or at the first batch that runs out of memory;
// that attempt's model, optimizer state, batch and autograd graph are all
// released before the search returns. train/batch_knee.h reads the table.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/device.h"
#include "engine/io/idx.h"
#include "train/batch_knee.h"
#include "train/config.h"

namespace danlu::train {

inline constexpr int64_t kSmallestBatchTried = 16;
// The most steps (timed or warm-up) one batch size runs: a search stays bounded.
inline constexpr int64_t kMaxBatchFindSteps = 10'000;

struct BatchFindOptions {
  int64_t max_batch = 1024;  // a power of two >= 16
  int64_t steps = 10;        // timed steps per batch size
  int64_t warmup_steps = 3;  // untimed steps before them
  double margin = 0.2;       // memory kept free by the recommendation, in [0, 1)
};

// Throws a one-line danlu::Error naming the option and the fix. A search
// over `train_examples` images needs --max no larger than that (batches
// drop the last partial one, so a batch larger than the set never runs).
void check_options(const BatchFindOptions& o, int64_t train_examples);

struct BatchSearch {
  std::vector<BatchTrial> trials;  // ascending batch; the last may be out of memory
  uint64_t device_bytes = 0;       // what percentages are of: train/memory_advice.h
  uint64_t held_before = 0;        // bytes the device held before the search (the data, on the CPU)
  uint64_t held_after = 0;         // and after it: equal when every attempt released its buffers
};

// The search on the training set `data` (already loaded, so its memory
// counts in every peak, as it does when training). `on_trial` sees each row
// as it is measured, for progress output.
BatchSearch batch_find(const TrainConfig& config, Device device, const io::ImageDataset& data,
                       const BatchFindOptions& options,
                       const std::function<void(const BatchTrial&)>& on_trial = {});

}  // namespace danlu::train
