// Autograd: a dynamic tape. Each differentiable op that sees an input which
// requires grad records a Node holding its inputs and a backward function;
// Tensor::backward() runs the nodes in reverse topological order and
// accumulates gradients into the leaves' .grad().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace danlu {

// Receives d(loss)/d(output) and returns d(loss)/d(input_i) for every input
// (an undefined Tensor where the input needs no gradient). Backward functions
// must keep saved outputs as `out.detach()`: capturing the output itself would
// make a reference cycle output -> node -> output.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;            // the op's name, shown in errors and profiles
  std::vector<Tensor> inputs;  // the op's tensor inputs, in order
  BackwardFn backward;
  // The layer whose forward recorded the node, while a step profile runs
  // (its backward is charged there); null otherwise.
  const std::string* layer = nullptr;

  bool needs_grad(size_t i) const { return i < inputs.size() && inputs[i].requires_grad(); }
};

// Whether ops record nodes (thread-local, on by default).
struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// Disables recording for its scope (evaluation, optimizer steps, init).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when an op with these inputs must record a node.
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Attaches a node to `output` when grad mode is on and an input requires
// grad; returns `output` either way. The single place ops record the tape.
Tensor record(Tensor output, const char* name, std::vector<Tensor> inputs, BackwardFn backward);

// Runs the backward pass from `root` seeded with `gradient`.
void run_backward(const Tensor& root, const Tensor& gradient);

// While one is alive, the backward passes of this thread call `ready(leaf)`
// once for each leaf that received a gradient, as soon as that gradient is
// complete for the pass: every op that used the leaf has added its part.
// Data-parallel training starts a bucket's all-reduce from here while the
// rest of the backward runs (train/gradient_averager.h), as PyTorch's DDP
// does from its gradient-accumulation hooks. Leaves complete in the reverse
// order of their last use, the same on every run of the same graph.
class GradientReadyHook {
 public:
  using Ready = std::function<void(const Tensor& leaf)>;
  explicit GradientReadyHook(Ready ready);
  ~GradientReadyHook();
  GradientReadyHook(const GradientReadyHook&) = delete;
  GradientReadyHook& operator=(const GradientReadyHook&) = delete;

 private:
  Ready ready_;
  const Ready* previous_;
};

}  // namespace danlu
