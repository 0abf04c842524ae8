// Module: registration, tree walks, modes, state dicts and in-place moves.
#include "layers/module.h"

#include <sstream>
#include <unordered_set>

#include "engine/autograd.h"

namespace danlu::nn {

namespace {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Points every handle of `t` at new data: this is how PyTorch's
// `param.data = ...` keeps an optimizer's references valid across moves.
void replace_data(const Tensor& t, const Tensor& src) {
  t.impl()->storage = src.impl()->storage;
  t.impl()->offset = src.impl()->offset;
  t.impl()->dtype = src.impl()->dtype;
}

}  // namespace

std::string LoadReport::str() const {
  if (ok()) return "all keys matched";
  std::vector<std::string> parts;
  if (!missing_keys.empty()) parts.push_back("missing keys [" + join(missing_keys, ", ") + "]");
  if (!unexpected_keys.empty())
    parts.push_back("unexpected keys [" + join(unexpected_keys, ", ") + "]");
  if (!mismatched_keys.empty())
    parts.push_back("shape mismatches [" + join(mismatched_keys, ", ") + "]");
  return join(parts, "; ");
}

Tensor Module::forward(const Tensor&) {
  DANLU_FAIL(name_, ": this module has no forward(Tensor); call its children or override forward");
}

// ---- registration ------------------------------------------------------------------

void Module::check_new_name(const std::string& name, const char* what) const {
  DANLU_CHECK(!name.empty() && name.find('.') == std::string::npos, name_, ": ", what,
              " name '", name, "' must be non-empty and contain no '.'");
  DANLU_CHECK(!parameters_.contains(name) && !buffers_.contains(name) && !children_.contains(name),
              name_, ": ", what, " name '", name, "' is already registered");
}

Tensor Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "parameter");
  DANLU_CHECK(tensor.defined() && is_floating(tensor.dtype()), name_, ": parameter '", name,
              "' must be a defined f32/f64 tensor");
  DANLU_CHECK(tensor.is_leaf(), name_, ": parameter '", name,
              "' must be a leaf tensor; detach() it first");
  tensor.set_requires_grad(requires_grad);
  return parameters_.insert(std::move(name), std::move(tensor));
}

Tensor Module::register_buffer(std::string name, Tensor tensor) {
  check_new_name(name, "buffer");
  DANLU_CHECK(tensor.defined(), name_, ": buffer '", name, "' is an undefined tensor");
  return buffers_.insert(std::move(name), std::move(tensor));
}

std::shared_ptr<Module> Module::register_module(std::string name, std::shared_ptr<Module> module) {
  check_new_name(name, "submodule");
  DANLU_CHECK(module != nullptr, name_, ": submodule '", name, "' is null");
  return children_.insert(std::move(name), std::move(module));
}

// ---- the tree ----------------------------------------------------------------------

struct Module::Walk {
  bool recurse, params, buffers;
  bool dedupe;  // each tensor once, under its first name (PyTorch's remove_duplicate)
  OrderedDict<Tensor> out;
  std::unordered_set<const TensorImpl*> seen;
};

void Module::collect(const std::string& prefix, Walk& walk) const {
  auto add = [&](const OrderedDict<Tensor>& tensors) {
    for (const auto& [name, t] : tensors)
      if (!walk.dedupe || walk.seen.insert(t.impl().get()).second)
        walk.out.insert(prefix + name, t);
  };
  if (walk.params) add(parameters_);
  if (walk.buffers) add(buffers_);
  if (!walk.recurse) return;
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", walk);
}

OrderedDict<Tensor> Module::named_parameters(bool recurse) const {
  Walk walk{recurse, true, false, true, {}, {}};
  collect("", walk);
  return walk.out;
}

OrderedDict<Tensor> Module::named_buffers(bool recurse) const {
  Walk walk{recurse, false, true, true, {}, {}};
  collect("", walk);
  return walk.out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  return named_parameters(recurse).values();
}
std::vector<Tensor> Module::buffers(bool recurse) const { return named_buffers(recurse).values(); }
std::vector<std::shared_ptr<Module>> Module::children() const { return children_.values(); }

void Module::apply(const std::function<void(Module&)>& fn) {
  for (const auto& [name, child] : children_) child->apply(fn);
  fn(*this);
}

// ---- modes -------------------------------------------------------------------------

void Module::train(bool on) {
  training_ = on;
  for (const auto& [name, child] : children_) child->train(on);
}

void Module::requires_grad_(bool requires_grad) {
  for (Tensor& p : parameters()) p.set_requires_grad(requires_grad);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.zero_grad();
}

// ---- state -------------------------------------------------------------------------

StateDict Module::state_dict() const {
  Walk walk{true, true, true, false, {}, {}};
  collect("", walk);
  StateDict out;
  for (const auto& [name, t] : walk.out) out.insert(name, t.detach());
  return out;
}

LoadReport Module::load_state_dict(const StateDict& dict, bool strict) {
  Walk walk{true, true, true, false, {}, {}};
  collect("", walk);
  LoadReport report;
  for (const auto& [key, t] : walk.out) {
    const Tensor* src = dict.find(key);
    if (!src)
      report.missing_keys.push_back(key);
    else if (!src->defined() || src->shape() != t.shape())
      report.mismatched_keys.push_back(key + ": " +
                                       (src->defined() ? src->shape().str() : "undefined") +
                                       " in the dict, " + t.shape().str() + " in the model");
  }
  for (const auto& [key, t] : dict)
    if (!walk.out.contains(key)) report.unexpected_keys.push_back(key);
  DANLU_CHECK(!strict || report.ok(), name_, ".load_state_dict: ", report.str(),
              "; nothing was loaded (strict=false loads the matching keys)");

  NoGradGuard no_grad;
  for (const auto& [key, t] : walk.out) {
    const Tensor* src = dict.find(key);
    if (!src || !src->defined() || src->shape() != t.shape()) continue;
    report.loaded_keys.push_back(key);
    // Convert the dtype on the host side of the move: GPU tensors are f32.
    Tensor value = t.device().is_cpu() ? src->to(t.device()).to(t.dtype())
                                       : src->to(t.dtype()).to(t.device());
    if (value.raw_data() == t.raw_data()) continue;  // loading a module's own state
    Tensor(t).copy_(value);
  }
  return report;
}

void Module::to(Device device) {
  auto move = [&](const Tensor& t) {
    replace_data(t, t.to(device));
    if (t.grad().defined()) t.set_grad(t.grad().to(device));
  };
  for (const Tensor& p : parameters()) move(p);
  for (const Tensor& b : buffers())
    if (is_floating(b.dtype())) move(b);  // integer buffers are counters the host reads
}

void Module::to(DType dtype) {
  DANLU_CHECK(is_floating(dtype), name_, ".to: modules convert to f32 or f64, not ",
              dtype_name(dtype));
  auto convert = [&](const Tensor& t) {
    if (!is_floating(t.dtype())) return;
    replace_data(t, t.to(dtype));
    if (t.grad().defined()) t.set_grad(t.grad().to(dtype));
  };
  for (const Tensor& p : parameters()) convert(p);
  for (const Tensor& b : buffers()) convert(b);
}

// ---- printing ----------------------------------------------------------------------

std::string Module::describe() const {
  std::vector<std::string> lines = split_lines(extra_repr());
  const size_t extra_lines = lines.size();
  for (const auto& [name, child] : children_) {
    // PyTorch's _addindent: a child's continuation lines move two spaces right.
    std::vector<std::string> child_lines = split_lines(child->describe());
    lines.push_back("(" + name + "): " + join(child_lines, "\n  "));
  }
  std::string out = name_ + "(";
  if (extra_lines == 1 && lines.size() == 1)
    out += lines[0];
  else if (!lines.empty())
    out += "\n  " + join(lines, "\n  ") + "\n";
  return out + ")";
}

std::ostream& operator<<(std::ostream& out, const Module& module) {
  return out << module.describe();
}

}  // namespace danlu::nn
