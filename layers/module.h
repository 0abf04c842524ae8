// Module: the base of every layer, as PyTorch's nn.Module. A module owns named
// parameters, buffers and child modules; dotted names ("features.0.weight"),
// train/eval, state dicts and device moves all walk that tree depth first.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/profile.h"
#include "engine/tensor.h"
#include "layers/ordered_dict.h"

namespace danlu::nn {

using StateDict = OrderedDict<Tensor>;

// What load_state_dict() found: keys the model has but the dict lacks, keys
// the dict has but the model lacks, and keys whose shapes differ
// ("fc.weight: (10, 64) in the dict, (10, 32) in the model").
struct LoadReport {
  std::vector<std::string> loaded_keys;  // copied from the dict
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
  std::vector<std::string> mismatched_keys;

  bool ok() const {
    return missing_keys.empty() && unexpected_keys.empty() && mismatched_keys.empty();
  }
  std::string str() const;  // one line; "all keys matched" when ok()
};

class Module {
 public:
  explicit Module(std::string name = "Module") : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;  // so `Sequential(Linear(4, 2), ReLU())` can take temporaries
  Module& operator=(Module&&) = default;

  const std::string& name() const { return name_; }  // the type name, "Conv2d"

  // The layer's computation; the base class has none and throws.
  virtual Tensor forward(const Tensor& x);
  // forward(), charged to this layer in a step profile. Containers call
  // their children this way.
  Tensor operator()(const Tensor& x) {
    return as_layer([&] { return forward(x); });
  }
  // Runs `work` (e.g. a fused forward_relu) as this layer's forward in a
  // step profile.
  template <class Work>
  Tensor as_layer(Work&& work) const {
    const NvtxRange range(name_);  // "Conv2d" on an Nsight Systems timeline
    const ProfileScope scope(layer_label(this), Pass::forward);
    return work();
  }

  // ---- the tree --------------------------------------------------------------------
  // Parameters and buffers appear once each even when shared between modules.
  std::vector<Tensor> parameters(bool recurse = true) const;
  OrderedDict<Tensor> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  OrderedDict<Tensor> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  const OrderedDict<std::shared_ptr<Module>>& named_children() const { return children_; }
  // Calls fn on every descendant, children before parents, then on this
  // module (PyTorch's apply): `model->apply([](Module& m) { ... })`.
  void apply(const std::function<void(Module&)>& fn);

  // ---- modes -----------------------------------------------------------------------
  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Sets requires_grad on every parameter: requires_grad_(false) freezes the module.
  void requires_grad_(bool requires_grad = true);
  void zero_grad();  // drops every parameter's gradient (PyTorch's set_to_none)

  // ---- state -----------------------------------------------------------------------
  // Every parameter and buffer under its dotted name, each module's own
  // parameters then its buffers, depth first (PyTorch's order). The tensors
  // share data with the module.
  StateDict state_dict() const;
  // Copies matching entries into the module (converting dtype and device).
  // strict: any missing, unexpected or mismatched key throws danlu::Error
  // naming them all, and nothing is loaded. Non-strict: loads what matches
  // and returns the report.
  LoadReport load_state_dict(const StateDict& dict, bool strict = true);

  // Moves every parameter, floating buffer and gradient in place, so tensor
  // handles held elsewhere (an optimizer's) stay valid. Integer buffers (such
  // as BatchNorm's num_batches_tracked) are counters that only the host reads
  // and writes: they stay on the CPU, so that counting a step never waits
  // for the GPU.
  void to(Device device);
  // Converts floating parameters and buffers (and gradients) in place;
  // integer buffers such as num_batches_tracked keep their dtype.
  void to(DType dtype);

  // The module tree as PyTorch prints it:
  //   Sequential(
  //     (0): Linear(in_features=4, out_features=2, bias=True)
  //     (1): ReLU()
  //   )
  std::string describe() const;

 protected:
  // Registers a leaf tensor as a parameter; returns it so a layer can keep
  // the handle as a member (`weight = register_parameter("weight", w)`).
  Tensor register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  // Registers state that is saved and moved but not trained (running stats).
  Tensor register_buffer(std::string name, Tensor tensor);
  std::shared_ptr<Module> register_module(std::string name, std::shared_ptr<Module> module);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    register_module(std::move(name), std::shared_ptr<Module>(module));
    return module;
  }
  // The text inside the parentheses of describe(), e.g. "in_features=4, ...".
  virtual std::string extra_repr() const { return ""; }

 private:
  struct Walk;  // what collect() gathers
  void check_new_name(const std::string& name, const char* what) const;
  void collect(const std::string& prefix, Walk& walk) const;

  std::string name_;
  bool training_ = true;
  OrderedDict<Tensor> parameters_;
  OrderedDict<Tensor> buffers_;
  OrderedDict<std::shared_ptr<Module>> children_;
};

std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace danlu::nn
