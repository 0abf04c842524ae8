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

// A step's forward and backward: the batch's mean loss (0-d, with autograd
// history cut) and the predicted classes, (N) i64, left on the device; the
// gradients are in the parameters' grad().
struct StepOutputs {
  Tensor loss, predicted;
};

// zero_grad, forward, loss (with the config's label smoothing), predictions
// and backward, with data-parallel gradient averaging: the part of a step
// that a CUDA Graph captures (train/step_graph.h).
StepOutputs forward_backward(Session& session, const Tensor& images, const Tensor& labels);

// Whether 1-based step `step` is one the health monitor measures, at every
// `every`th step (0: never).
inline bool monitored_step(int64_t step, int64_t every) { return every > 0 && step % every == 0; }

// forward_backward (on a GPU replayed from a CUDA Graph where it can be:
// train/step_graph.h), then clipping, the optimizer step and a per-iteration
// scheduler step. `after_backward` (optional) sees the gradients before
// clipping. `monitor` measures the step's health (train/monitor.h), the one
// host read of a monitored step, which runs op by op.
StepResult train_step(Session& session, const io::Batch& batch,
                      const std::function<void()>& after_backward = {}, bool monitor = false);

}  // namespace danlu::train
