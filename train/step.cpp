// The training step, phase by phase; each phase is an NVTX range and a row
// of a step profile.
#include "train/step.h"

#include <cmath>

#include "engine/ops/loss.h"
#include "engine/profile.h"
#include "optim/clip_grad.h"
#include "train/evaluate.h"

namespace danlu::train {

namespace {
// Step-profile rows for the two reads back to the host; on a GPU each waits
// for the work queued before it.
const std::string kLossReadback = "loss readback (waits for the forward)";
const std::string kAccuracy = "batch accuracy (argmax, readback)";
}  // namespace

StepResult train_step(Session& session, const io::Batch& batch,
                      const std::function<void()>& after_backward) {
  const TrainConfig& config = session.config;
  Tensor logits, loss;
  {
    PhaseRange forward(Phase::forward);
    logits = (*session.model)(batch.images);
    loss = cross_entropy(logits, batch.labels,
                         CrossEntropyOptions{Reduction::mean, config.label_smoothing});
  }
  StepResult result;
  {
    const ProfileScope scope(&kLossReadback, Pass::other);
    result.loss = loss.item();
  }
  if (!std::isfinite(result.loss)) {
    result.finite = false;
    return result;
  }
  {
    PhaseRange backward(Phase::backward);
    session.optimizer->zero_grad();
    loss.backward();
  }
  if (after_backward) after_backward();
  {
    PhaseRange update(Phase::optimizer);
    if (config.clip_grad_value > 0)
      optim::clip_grad_value_(session.optimizer->parameters(), config.clip_grad_value);
    if (config.clip_grad_norm > 0)
      optim::clip_grad_norm_(session.optimizer->parameters(), config.clip_grad_norm);
    session.optimizer->step();
    if (session.scheduler && !session.scheduler->needs_metric()) session.scheduler->step();
  }
  {
    const ProfileScope scope(&kAccuracy, Pass::other);
    result.correct = count_correct(logits, batch.labels);
  }
  return result;
}

}  // namespace danlu::train
