// Sequential: children named "0", "1", ... applied in order, as
// torch.nn.Sequential. Takes shared modules or temporaries:
//   auto net = std::make_shared<Sequential>(Linear(784, 128), ReLU(), Linear(128, 10));
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "layers/module.h"

namespace danlu::nn {

// A module passed by value (a temporary) or as a shared_ptr to a module.
template <class M>
concept ModuleArgument =
    (std::derived_from<std::remove_cvref_t<M>, Module> && !std::is_lvalue_reference_v<M>) ||
    std::convertible_to<M, std::shared_ptr<Module>>;

// While an OutputTap lives (on its thread), every Sequential hands each
// child's output to it, and runs each child on its own (a fused run of
// children unfused: the same values) so that every layer's output is seen. The
// training health monitor installs one at its steps.
class OutputTap {
 public:
  using Fn = std::function<void(const Module& child, const Tensor& output)>;
  explicit OutputTap(Fn fn);
  ~OutputTap();
  OutputTap(const OutputTap&) = delete;
  OutputTap& operator=(const OutputTap&) = delete;
  static const Fn* current();  // null when none is installed

 private:
  Fn fn_;
  const Fn* previous_;
};

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  template <ModuleArgument... Ms>
    requires(sizeof...(Ms) > 0)
  explicit Sequential(Ms&&... modules) : Sequential() {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  // Appends under the next index as its name.
  void push_back(std::shared_ptr<Module> module);
  // Appends under a chosen name, as PyTorch's Sequential(OrderedDict(...)).
  void push_back(std::string name, std::shared_ptr<Module> module);
  template <class M>
    requires(std::derived_from<std::remove_cvref_t<M>, Module> && !std::is_lvalue_reference_v<M>)
  void push_back(M&& module) {
    push_back(std::make_shared<std::remove_cvref_t<M>>(std::move(module)));
  }

  size_t size() const { return named_children().size(); }
  std::shared_ptr<Module> operator[](size_t index) const;
  // The child at `index` as its concrete type; throws when it is another type.
  template <class M>
  std::shared_ptr<M> at(size_t index) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[index]);
    DANLU_CHECK(typed, "Sequential: child ", index, " is a ", (*this)[index]->name(),
                ", not the requested type");
    return typed;
  }

  // Runs children [first, first + count) (count >= 2, each running on its
  // own so far) as one call of `fused`, which must compute what they compute
  // in turn. Fusion passes decide this once (layers/batchnorm_relu.h); the
  // children stay, so names, state dicts and printing do not change.
  void fuse(size_t first, size_t count, std::shared_ptr<Module> fused);
  // Whether child `index` runs on its own rather than inside a fused run.
  bool runs_alone(size_t index) const;

  // Feeds x through every child in order: each fused run as one call,
  // unless an OutputTap is installed.
  Tensor forward(const Tensor& x) override;

 private:
  // What forward() runs: `module` takes the place of `children` consecutive
  // children (one, unless fused). The steps cover the children in order.
  struct Step {
    std::shared_ptr<Module> module;
    size_t children;
  };
  std::vector<Step> steps_;
};

}  // namespace danlu::nn
