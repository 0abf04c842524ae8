// A training step's forward and backward on a GPU as one CUDA Graph
// (engine/cuda_graph.h): captured once the step's shapes have settled, then
// replayed, so the host makes one launch where it made one per kernel and
// does none of the forward's or the backward's host work. Clipping, the
// optimizer update and the scheduler stay outside the graph: they are a few
// fused launches whose per-step numbers (the learning rate, a parameter's
// step count and Adam's bias corrections) travel in the table the host
// uploads for them every step (kernels/cuda/multi_tensor.cuh), so they take
// the scheduler's new rate without a device scalar.
//
// Steps 1 and 2 of a shape run op by op: step 1 creates the optimizer state
// and the libraries' handles, and step 2 measures how much memory a step
// allocates, which the capture's arena reserves (1.5 times, plus 16 MiB;
// doubled, up to twice, if the capture runs out). Step 3 is captured and
// launched. From then on a step replays the graph: its batch is copied into
// the graph's input tensors, the host effects are redone (BatchNorm counters,
// the dropout generator's offset), the graph is launched, and the loss and
// predictions are copied out, since the next launch overwrites them.
//
// A step runs op by op instead when its batch has another shape (an epoch's
// last, partial batch), when the health monitor or the step profiler
// watches it, or when the model's parameters, their trainability or its
// buffers have changed since the capture (then the graph is dropped and a
// new one captured two steps later). When the step cannot be captured at all
// (data parallel, a BatchNorm with momentum=None, a call that waits for the
// GPU) the graph is off for the rest of the run and note() says why. Replays
// give the same bits as running the step op by op.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/data_loader.h"
#include "train/session.h"
#include "train/step.h"

namespace danlu {
class CudaGraph;
}

namespace danlu::train {

class StepGraph {
 public:
  static constexpr int kWarmSteps = 2;  // op-by-op steps of a shape before it is captured

  StepGraph();
  ~StepGraph();

  // forward_backward for `batch`: replayed, captured, or op by op (above);
  // `watched` (the health monitor measures the step) runs it op by op.
  StepOutputs run(Session& session, const io::Batch& batch, bool watched);

  // What changed since the last call ("captured at step 3: ...", "off: ..."),
  // once; empty when nothing did.
  std::string take_note();
  // Why graphs are off for this run; empty while they are on.
  const std::string& off_reason() const { return off_; }
  int64_t replays() const { return replays_; }
  int64_t captures() const { return captures_; }

 private:
  StepOutputs capture(Session& session, const io::Batch& batch);
  StepOutputs replay(const io::Batch& batch);
  // Op by op; `warming`: the step counts towards a capture of its shape.
  StepOutputs eager(Session& session, const io::Batch& batch, bool warming);
  // The model state the graph was captured for: each parameter's storage and
  // trainability, each buffer's storage.
  using ModelKey = std::vector<std::pair<const void*, bool>>;
  ModelKey model_key(const Session& session) const;
  void turn_off(const std::string& reason);

  std::string off_, note_;
  int64_t steps_ = 0, replays_ = 0, captures_ = 0;
  Shape shape_;                 // the last eager step's batch shape
  int64_t settled_ = 0;         // eager steps in a row with that shape
  size_t step_bytes_ = 0;       // memory the last eager step allocated at its peak

  std::unique_ptr<CudaGraph> graph_;
  Tensor images_, labels_;  // the graph's inputs
  StepOutputs outputs_;     // and its outputs, overwritten by each launch
  std::vector<Tensor> params_, grads_;  // each trainable parameter and its gradient
  ModelKey key_;
};

}  // namespace danlu::train
