// One optimizer step on one batch: the body of the training loop, shared by
// run_training() and the timing modes (--bench-steps, --profile).
#pragma once

#include <cstdint>
#include <functional>

#include "engine/io/data_loader.h"
#include "train/monitor.h"
#include "train/session.h"

namespace danlu::train {

// What a step leaves on the model's device. Nothing is read back to the
// host inside the step, so on a GPU the host queues the next step while
// this one runs; the caller reads these when it needs the numbers (every log
// interval), and a NaN/Inf loss shows then, after its update.
struct StepResult {
  Tensor loss;       // the batch's mean loss, 0-d
  Tensor predicted;  // the predicted class of each image, (N) i64
  std::vector<LayerHealth> health;  // per layer, on monitored steps only (read back)
};

// Whether 1-based step `step` is one the health monitor measures, at every
// `every`th step (0: never).
inline bool monitored_step(int64_t step, int64_t every) { return every > 0 && step % every == 0; }

// Forward, loss (with the config's label smoothing), backward, clipping,
// optimizer step and a per-iteration scheduler step. `after_backward`
// (optional) sees the gradients before clipping. `monitor` measures the
// step's health (train/monitor.h), the one host read of a monitored step.
StepResult train_step(Session& session, const io::Batch& batch,
                      const std::function<void()>& after_backward = {}, bool monitor = false);

}  // namespace danlu::train
