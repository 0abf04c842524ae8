// Sequential: appending children and chaining their forwards. A BatchNorm
// directly followed by a ReLU runs as one batch_norm_relu op: the same values
// and gradients, one pass fewer over the activations on a GPU.
#include "layers/sequential.h"

#include "layers/activation.h"
#include "layers/batchnorm.h"

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
  register_module(std::move(name), std::move(module));
}

std::shared_ptr<Module> Sequential::operator[](size_t index) const {
  DANLU_CHECK(index < size(), "Sequential: index ", index, " is out of range for ", size(),
              " children");
  return named_children().items()[index].second;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  const auto& children = named_children().items();
  if (const OutputTap::Fn* tap = OutputTap::current()) {
    for (const auto& item : children) {
      out = (*item.second)(out);
      (*tap)(*item.second, out);
    }
    return out;
  }
  for (size_t i = 0; i < children.size(); ++i) {
    Module& child = *children[i].second;
    auto* bn = dynamic_cast<BatchNormBase*>(&child);
    if (bn && i + 1 < children.size() && dynamic_cast<ReLU*>(children[i + 1].second.get())) {
      out = bn->as_layer([&] { return bn->forward_relu(out); });
      ++i;  // the ReLU ran inside
      continue;
    }
    out = child(out);
  }
  return out;
}

}  // namespace danlu::nn
