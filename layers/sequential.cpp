// Sequential: appending children, fusing runs of them, and chaining their
// forwards.
#include "layers/sequential.h"

namespace danlu::nn {

namespace {
thread_local const OutputTap::Fn* installed_tap = nullptr;
}  // namespace

OutputTap::OutputTap(Fn fn) : fn_(std::move(fn)), previous_(installed_tap) { installed_tap = &fn_; }
OutputTap::~OutputTap() { installed_tap = previous_; }
const OutputTap::Fn* OutputTap::current() { return installed_tap; }

void Sequential::push_back(std::shared_ptr<Module> module) {
  push_back(std::to_string(size()), std::move(module));
}

void Sequential::push_back(std::string name, std::shared_ptr<Module> module) {
  steps_.push_back({register_module(std::move(name), std::move(module)), 1});
}

std::shared_ptr<Module> Sequential::operator[](size_t index) const {
  DANLU_CHECK(index < size(), "Sequential: index ", index, " is out of range for ", size(),
              " children");
  return named_children().items()[index].second;
}

bool Sequential::runs_alone(size_t index) const {
  DANLU_CHECK(index < size(), "Sequential: index ", index, " is out of range for ", size(),
              " children");
  size_t first = 0;
  for (const Step& step : steps_) {
    if (index < first + step.children) return step.children == 1;
    first += step.children;
  }
  return true;  // unreachable: the steps cover every child
}

void Sequential::fuse(size_t first, size_t count, std::shared_ptr<Module> fused) {
  DANLU_CHECK(fused, "Sequential::fuse: the fused module is null");
  DANLU_CHECK(count >= 2, "Sequential::fuse: a fused run covers at least 2 children, got ",
              count);
  DANLU_CHECK(first + count <= size(), "Sequential::fuse: children [", first, ", ",
              first + count, ") are out of range for ", size(), " children");
  for (size_t i = first; i < first + count; ++i)
    DANLU_CHECK(runs_alone(i), "Sequential::fuse: child ", i,
                " is fused already; fuse each child at most once");
  // Each child up to `first` runs alone or inside a whole step, so the step
  // that runs child `first` starts there.
  size_t step = 0, child = 0;
  while (child < first) child += steps_[step++].children;
  steps_.erase(steps_.begin() + step, steps_.begin() + step + count);
  steps_.insert(steps_.begin() + step, Step{std::move(fused), count});
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  if (const OutputTap::Fn* tap = OutputTap::current()) {
    for (const auto& item : named_children().items()) {
      out = (*item.second)(out);
      (*tap)(*item.second, out);
    }
    return out;
  }
  for (const Step& step : steps_) out = (*step.module)(out);
  return out;
}

}  // namespace danlu::nn
