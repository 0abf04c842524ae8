// One optimizer step on one batch: the body of the training loop, shared by
// run_training() and the timing modes (--bench-steps, --profile).
#pragma once

#include <cstdint>
#include <functional>

#include "engine/io/data_loader.h"
#include "train/session.h"

namespace danlu::train {

struct StepResult {
  double loss = 0;      // the batch's mean loss
  int64_t correct = 0;  // correctly classified images of the batch
  bool finite = true;   // false: the loss was NaN/Inf and nothing was updated
};

// Forward, loss (with the config's label smoothing), backward, clipping,
// optimizer step and a per-iteration scheduler step. A NaN/Inf loss returns
// before backward, leaving the model untouched. `after_backward` (optional)
// sees the gradients before clipping.
StepResult train_step(Session& session, const io::Batch& batch,
                      const std::function<void()>& after_backward = {});

}  // namespace danlu::train
