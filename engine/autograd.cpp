// The backward engine: topological order by depth-first search over the
// nodes reachable from the root, then one reverse sweep that sums the
// gradients flowing into each node before running it.
#include "engine/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "engine/ops/elementwise.h"
#include "engine/profile.h"

namespace danlu {

namespace {
thread_local bool grad_mode_enabled = true;
thread_local const GradientReadyHook::Ready* gradient_ready = nullptr;

// A leaf's new gradient as a fresh tensor, so no .grad() ever aliases another.
Tensor accumulate(const Tensor& sum, const Tensor& g) {
  return sum.defined() ? add(sum, g) : g.clone();
}

std::vector<Node*> reverse_topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited{root};
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};  // node, next input
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      Node* child = node->inputs[next++].grad_fn().get();
      if (child && visited.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return {order.rbegin(), order.rend()};  // root first
}

// For GradientReadyHook: how many uses of each leaf the pass has yet to run.
// A leaf's gradient is complete when the last node that uses it has run
// (or was skipped: no gradient reached it).
class PendingLeaves {
 public:
  explicit PendingLeaves(const std::vector<Node*>& order) {
    if (!gradient_ready) return;
    for (Node* node : order)
      for (const Tensor& input : node->inputs)
        if (is_leaf_with_grad(input)) ++uses_[input.impl().get()];
  }

  // `node` has run: its leaves have one use fewer to wait for.
  void ran(const Node& node) {
    if (!gradient_ready) return;
    for (const Tensor& input : node.inputs)
      if (is_leaf_with_grad(input) && --uses_[input.impl().get()] == 0 && input.grad().defined())
        (*gradient_ready)(input);
  }

 private:
  static bool is_leaf_with_grad(const Tensor& t) {
    return t.defined() && t.requires_grad() && !t.grad_fn();
  }
  std::unordered_map<const TensorImpl*, int> uses_;
};
}  // namespace

GradientReadyHook::GradientReadyHook(Ready ready)
    : ready_(std::move(ready)), previous_(gradient_ready) {
  gradient_ready = &ready_;
}

GradientReadyHook::~GradientReadyHook() { gradient_ready = previous_; }

bool GradMode::is_enabled() { return grad_mode_enabled; }
void GradMode::set_enabled(bool enabled) { grad_mode_enabled = enabled; }

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  for (const Tensor& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

Tensor record(Tensor output, const char* name, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!GradMode::is_enabled() || !any_requires_grad(inputs)) return output;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  node->layer = current_layer_label();
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
  return output;
}

void run_backward(const Tensor& root, const Tensor& gradient) {
  DANLU_CHECK(root.requires_grad(), "backward: the tensor does not require grad and has no ",
              "grad_fn; set requires_grad on a parameter it depends on");
  DANLU_CHECK(gradient.shape() == root.shape(), "backward: gradient shape ", gradient.shape(),
              " does not match the tensor's shape ", root.shape());
  NoGradGuard no_grad;  // backward functions are not themselves recorded
  if (!root.grad_fn()) {  // backward on a leaf: its gradient is the seed
    root.set_grad(accumulate(root.grad(), gradient));
    if (gradient_ready) (*gradient_ready)(root);
    return;
  }
  std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), gradient}};
  const std::vector<Node*> order = reverse_topological_order(root.grad_fn().get());
  PendingLeaves leaves(order);
  for (Node* node : order) {
    Tensor grad_output = std::move(pending[node]);
    pending.erase(node);
    if (!grad_output.defined()) {
      leaves.ran(*node);
      continue;
    }
    std::vector<Tensor> grads;
    {
      const NvtxRange range(node->name);  // the op's name under the training loop's "backward"
      const ProfileScope scope(node->layer, Pass::backward);
      grads = node->backward(grad_output);
    }
    DANLU_CHECK(grads.size() == node->inputs.size(), "backward of ", node->name, " returned ",
                grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      const Tensor& input = node->inputs[i];
      if (!grads[i].defined() || !input.defined() || !input.requires_grad()) continue;
      DANLU_CHECK(grads[i].shape() == input.shape(), "backward of ", node->name,
                  ": gradient for input ", i, " has shape ", grads[i].shape(),
                  " but the input has shape ", input.shape());
      if (Node* producer = input.grad_fn().get()) {
        Tensor& sum = pending[producer];  // intermediates are never exposed: no clone
        sum = sum.defined() ? add(sum, grads[i]) : grads[i];
      } else
      {
        input.set_grad(accumulate(input.grad(), grads[i]));
      }
    }
    leaves.ran(*node);
  }
}

}  // namespace danlu
