// Sequential: appending children and chaining their forwards.
#include "layers/sequential.h"

namespace danlu::nn {

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
  for (const auto& [name, child] : named_children()) out = child->forward(out);
  return out;
}

}  // namespace danlu::nn
