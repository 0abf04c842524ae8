// The training step, phase by phase; each phase is an NVTX range and a row
// of a step profile.
#include "train/step.h"

#include <optional>

#include "engine/autograd.h"
#include "engine/ops/loss.h"
#include "engine/ops/reduce.h"
#include "engine/profile.h"
#include "optim/clip_grad.h"
#include "train/distributed.h"
#include "train/gradient_averager.h"
#include "train/step_graph.h"

namespace danlu::train {

StepOutputs forward_backward(Session& session, const Tensor& images, const Tensor& labels) {
  StepOutputs out;
  Tensor loss;
  {
    PhaseRange forward(Phase::forward);
    const Tensor logits = (*session.model)(images);
    loss = cross_entropy(logits, labels,
                         CrossEntropyOptions{Reduction::mean, session.config.label_smoothing});
    out.predicted = argmax(logits.detach(), 1);
  }
  {
    PhaseRange backward(Phase::backward);
    session.optimizer->zero_grad();
    // Data parallel: the mean gradient over every rank's slice of the batch,
    // each bucket reduced while the rest of the backward runs.
    GradientAverager averager(session.optimizer->parameters(),
                              gradient_communicator(session.device));
    {
      const GradientReadyHook hook([&averager](const Tensor& p) { averager.ready(p); });
      loss.backward();
    }
    averager.finish();
  }
  out.loss = loss.detach();
  return out;
}

StepResult train_step(Session& session, const io::Batch& batch,
                      const std::function<void()>& after_backward, bool monitor) {
  const TrainConfig& config = session.config;
  std::optional<MonitorStep> watch;
  if (monitor) watch.emplace(*session.model);
  const StepOutputs out = session.graph
                              ? session.graph->run(session, batch, monitor)
                              : forward_backward(session, batch.images, batch.labels);
  if (after_backward) after_backward();
  if (watch) watch->after_backward();
  {
    PhaseRange update(Phase::optimizer);
    if (config.clip_grad_value > 0)
      optim::clip_grad_value_(session.optimizer->parameters(), config.clip_grad_value);
    if (config.clip_grad_norm > 0)
      optim::clip_grad_norm_(session.optimizer->parameters(), config.clip_grad_norm);
    session.optimizer->step();
    if (session.scheduler && !session.scheduler->needs_metric()) session.scheduler->step();
  }
  return {out.loss, out.predicted, watch ? watch->read() : std::vector<LayerHealth>{}};
}

}  // namespace danlu::train
