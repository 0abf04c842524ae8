// Timing runs of a config's training step, without evaluation, checkpoints
// or logs: `danlu train CONFIG --bench-steps N` (images/s, for side-by-side
// benchmarks) and `danlu train CONFIG --profile N` (where each step's time
// goes, layer by layer). Both train on the real data from the config's
// initial state: a few untimed warm-up steps (allocator pools, BLAS buffers,
// first-touch pages), then the timed ones.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/device.h"
#include "engine/io/idx.h"
#include "train/config.h"
#include "train/step_profile.h"

namespace danlu::train {

struct MeasureOptions {
  int64_t warmup_steps = 5;
  int64_t steps = 20;    // timed
  bool profile = false;  // record a StepProfile (adds a little host time per scope)
};

struct Measurement {
  int64_t warmup_steps = 0, steps = 0, batch_size = 0;
  double seconds = 0;  // of the timed steps, the GPU's work included
  double images_per_s = 0;
  std::optional<StepProfile> profile;
};

Measurement measure_steps(const TrainConfig& config, Device device, const MeasureOptions& options);
// The same on a training set already loaded: `danlu batch-find` reads it once
// for every batch size it measures.
Measurement measure_steps(const TrainConfig& config, Device device, const io::ImageDataset& data,
                          const MeasureOptions& options);

}  // namespace danlu::train
