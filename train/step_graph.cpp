// When a step is captured, replayed or run op by op (step_graph.h).
#include "train/step_graph.h"

#include "engine/cuda_graph.h"
#include "engine/cuda_memory.h"
#include "engine/profile.h"  // step_recorder
#include "engine/printf_string.h"
#include "train/distributed.h"

namespace danlu::train {

namespace {
constexpr int kArenaAttempts = 3;   // captures tried, each with twice the memory
constexpr size_t kArenaSlack = size_t(16) << 20;
}  // namespace

StepGraph::StepGraph() = default;
StepGraph::~StepGraph() = default;

std::string StepGraph::take_note() { return std::exchange(note_, {}); }

void StepGraph::turn_off(const std::string& reason) {
  off_ = reason;
  note_ = "CUDA graph: off from step " + std::to_string(steps_) + ": " + reason +
          "; the steps run op by op";
  graph_.reset();
}

StepGraph::ModelKey StepGraph::model_key(const Session& session) const {
  ModelKey key;
  for (const Tensor& p : session.optimizer->parameters())
    key.emplace_back(p.raw_data(), p.requires_grad());
  for (const Tensor& b : session.model->buffers()) key.emplace_back(b.raw_data(), false);
  return key;
}

StepOutputs StepGraph::run(Session& session, const io::Batch& batch, bool watched) {
  ++steps_;
  if (!off_.empty() || watched || step_recorder()) return eager(session, batch, false);
  if (graph_ && batch.images.shape() == images_.shape() &&
      batch.labels.shape() == labels_.shape()) {
    if (model_key(session) == key_ && graph_->replayable()) return replay(batch);
    graph_.reset();  // the model changed under it: capture again once settled
    settled_ = 0;
    note_ = "CUDA graph: the model's parameters or buffers changed at step " +
            std::to_string(steps_) + "; it is captured again";
  }
  if (!graph_ && settled_ >= kWarmSteps && batch.images.shape() == shape_) {
    if (world().size() > 1 || &gradient_communicator(session.device) != &world()) {
      turn_off("data parallel steps all-reduce their gradients, which a graph does not capture");
      return eager(session, batch, false);
    }
    return capture(session, batch);
  }
  return eager(session, batch, true);
}

StepOutputs StepGraph::eager(Session& session, const io::Batch& batch, bool warming) {
  const Device device = session.device;
  const bool counts = warming && !graph_;
  const int64_t settled = counts ? (batch.images.shape() == shape_ ? settled_ + 1 : 1) : 0;
  // The step before a capture measures what a step allocates (restarting
  // the pool's peak, which the run's peak then counts from).
  const bool measure = settled == kWarmSteps;
  const uint64_t before = measure ? cuda_memory_stats(device).in_use : 0;
  if (measure) reset_peak_memory(device);
  StepOutputs out = forward_backward(session, batch.images, batch.labels);
  if (measure) step_bytes_ = cuda_memory_stats(device).peak - before;
  if (counts) settled_ = settled, shape_ = batch.images.shape();
  return out;
}

StepOutputs StepGraph::capture(Session& session, const io::Batch& batch) {
  images_ = batch.images.clone();
  labels_ = batch.labels.clone();
  size_t arena = step_bytes_ + step_bytes_ / 2 + kArenaSlack;
  for (int attempt = 1; !graph_; ++attempt) {
    try {
      GraphCapture capture(session.device, arena);
      StepOutputs out = forward_backward(session, images_, labels_);
      graph_ = capture.finish();
      outputs_ = out;
    } catch (const CaptureRefused& refused) {
      if (refused.arena_full && attempt < kArenaAttempts) {
        arena *= 2;
        continue;
      }
      turn_off(refused.what());
      return eager(session, batch, false);
    } catch (const OutOfMemory& e) {
      turn_off(std::string("no GPU memory for the graph's arena: ") + e.what());
      return eager(session, batch, false);
    } catch (const Error& e) {  // a CUDA call the capture refused, reported by its caller
      turn_off(e.what());
      return eager(session, batch, false);
    }
  }
  params_.clear(), grads_.clear();
  for (const Tensor& p : session.optimizer->parameters())
    if (p.grad().defined()) params_.push_back(p), grads_.push_back(p.grad());
  key_ = model_key(session);
  ++captures_;
  const auto mib = [](size_t bytes) { return static_cast<double>(bytes) / (1 << 20); };
  note_ = printf_string("CUDA graph: step %lld captured (%lld kernel launches, %.1f of the %.1f MiB "
                        "reserved used); later steps of %lld images replay it",
                        static_cast<long long>(steps_), static_cast<long long>(graph_->kernels()),
                        mib(graph_->arena_peak()), mib(graph_->arena_bytes()),
                        static_cast<long long>(images_.size(0)));
  graph_->launch();
  return {outputs_.loss.clone(), outputs_.predicted.clone()};
}

StepOutputs StepGraph::replay(const io::Batch& batch) {
  Tensor(images_).copy_(batch.images);
  Tensor(labels_).copy_(batch.labels);
  graph_->launch();
  ++replays_;
  // The gradients an op-by-op step (a monitored one) replaced since.
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].grad().raw_data() != grads_[i].raw_data()) params_[i].set_grad(grads_[i]);
  return {outputs_.loss.clone(), outputs_.predicted.clone()};
}

}  // namespace danlu::train
