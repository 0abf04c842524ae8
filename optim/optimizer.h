// Optimizer: the base of every optimizer, as torch.optim.Optimizer. It keeps
// param groups (parameters with their own options), each parameter's state,
// and saves/loads all of it for a bit-exact resume. A subclass supplies its
// options type (through TypedOptimizer) and its update rule (step_group).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/ops/dispatch.h"
#include "engine/tensor.h"
#include "kernels/optim.h"
#include "optim/options.h"
#include "schedulers/lr_target.h"

namespace danlu::optim {

// Parameters with their own options, as PyTorch's {"params": [...], "lr": 0.01}:
// `options` overrides the optimizer's defaults by PyTorch name.
struct ParamGroup {
  explicit ParamGroup(std::vector<Tensor> params, nlohmann::json options = nlohmann::json::object())
      : params(std::move(params)), options(std::move(options)) {}
  std::vector<Tensor> params;
  nlohmann::json options;
};

// One parameter's state: how many steps updated it, and named buffers shaped
// like it ("exp_avg", "momentum_buffer", ...).
struct ParamState {
  int64_t step = 0;
  std::map<std::string, Tensor> buffers;

  // The buffer `name`; on first use a new one shaped like `like`, filled with `init`.
  Tensor& buffer(const std::string& name, const Tensor& like, double init = 0.0);
};

// Everything a resume needs, in the shape a safetensors checkpoint stores.
// Parameters are numbered over all groups in order, as PyTorch's state_dict:
//   tensors  "state.<index>.<buffer>" -> a copy of that buffer ("state.3.exp_avg")
//   meta     {"optimizer": "Adam",
//             "param_groups": [{"lr": 0.001, ..., "params": [0, 1, 2]}, ...],
//             "state": {"<index>": {"step": 12}, ...},
//             "group_state": [...]}   (only optimizers with group-level state: SWATS)
struct OptimizerState {
  std::map<std::string, Tensor> tensors;
  nlohmann::json meta;
};

class Optimizer : public sched::LrTarget {
 public:
  ~Optimizer() override = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  const std::string& name() const { return name_; }  // "Adam"

  // Updates every parameter that requires grad and has a gradient; the
  // others (frozen, or not reached by backward) are skipped untouched.
  void step();
  // Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();
  // Appends a group; its options override the defaults the optimizer was
  // built with. A parameter may belong to one group only.
  void add_param_group(ParamGroup group);

  size_t num_param_groups() const override { return params_.size(); }
  const std::vector<Tensor>& params(size_t group) const;
  std::vector<Tensor> parameters() const;  // every group's, in state-index order
  // A group's options by PyTorch name: {"lr": 0.1, "momentum": 0.9, ...}.
  virtual nlohmann::json group_options(size_t group) const = 0;

  // Copies of the buffers plus the scalars; see OptimizerState.
  OptimizerState state_dict() const;
  // The bytes the state buffers hold now (they appear at a parameter's first update).
  uint64_t state_bytes() const;
  // Restores what state_dict() returned, group options included. The state
  // must match this optimizer's groups and parameter shapes; any mismatch
  // throws a one-line danlu::Error and changes nothing.
  void load_state_dict(const OptimizerState& state);

 protected:
  explicit Optimizer(std::string name) : name_(std::move(name)) {}

  // A parameter this step updates.
  struct Slot {
    Tensor param;
    Tensor grad;
    ParamState& state;  // step already counts this update
  };
  // Applies the update rule to the parameters of `group` that have gradients,
  // all on one device (step() checks): one fused launch when that is a GPU.
  // A subclass implements it with update_slots below, plus any group-level
  // work of its own (SWATS's switching test).
  virtual void step_group(size_t group, const std::vector<Slot>& slots) = 0;

  // A slot's state buffers in its fused kernel's order (an undefined one, for
  // an option that is off, reaches the kernels as a null pointer), and whether
  // they were created for this step (SGD starts its momentum buffer from the
  // gradient).
  struct SlotBuffers {
    std::array<Tensor, 3> at;
    bool fresh = false;
    template <class T> T* data(size_t i) const { return data_or_null<T>(at[i]); }
  };
  // The parameter loop every step_group shares; the optimizer supplies its rule:
  //   buffers(slot) -> SlotBuffers    fetches a slot's state (creating it on first use)
  //   cpu(tag, slot, buffers)         runs the CPU kernel, T = decltype(tag) (f32 or f64)
  //   cuda(table, tensors, stream)    launches the fused kernel on all the slots at once
  // On the CPU the slots are updated one by one, in order; on a GPU they are
  // gathered into one fused launch after the loop.
  template <class Buffers, class CpuUpdate, class CudaLaunch>
  void update_slots([[maybe_unused]] size_t group, const std::vector<Slot>& slots,
                    Buffers&& buffers, CpuUpdate&& cpu, [[maybe_unused]] CudaLaunch&& cuda) {
    const bool on_gpu = slots[0].param.device().is_cuda();
    kernels::cuda::FusedTensors fused_tensors;
    for (const Slot& s : slots) {
      const SlotBuffers b = buffers(s);
      if (on_gpu) {
        fused_tensors.push_back(fused(s, b));
        continue;
      }
      ops_detail::dispatch_floating(s.param.dtype(), name_.c_str(),
                                    [&](auto tag) { cpu(tag, s, b); });
    }
    if (on_gpu)
      DANLU_CUDA_ONLY(cuda(fused_table(group), fused_tensors,
                           ops_detail::stream_of(slots[0].param)));
  }
  ParamState& state(size_t group, size_t index) { return state_[group][index]; }
  void check_group(size_t group) const;

  // The typed options of each group (TypedOptimizer implements these):
  // parse + check + append one group's; replace all at once, or nothing.
  virtual void add_options(const nlohmann::json& overrides, const std::string& where) = 0;
  virtual void load_options(const std::vector<nlohmann::json>& all, const std::string& where) = 0;
  // Group-level state beyond the options (SWATS's phase): null when there is
  // none, else one JSON value per group. load_state_dict checks every part of
  // a state before it sets any of it.
  virtual nlohmann::json group_state() const { return nullptr; }
  virtual void check_group_state(const nlohmann::json& j, const std::string& where) const;
  virtual void set_group_state(const nlohmann::json&) {}

 private:
  // The CUDA side of update_slots: the reusable table of group `group`'s
  // fused launches (CUDA builds only), and a slot as a fused-launch tensor.
  kernels::cuda::FusedTable& fused_table(size_t group);
  static kernels::cuda::FusedTensor fused(const Slot& slot, const SlotBuffers& buffers);

  std::string name_;
  std::vector<std::vector<Tensor>> params_;      // [group][i]
  std::vector<std::vector<ParamState>> state_;   // parallel to params_
  // Per group, created at its first step on a GPU (shared_ptr: a CPU-only
  // build never creates one, so it needs no FusedTable destructor).
  std::vector<std::shared_ptr<kernels::cuda::FusedTable>> fused_tables_;
};

// An Optimizer whose groups each hold an `Options` (SGDOptions, AdamOptions,
// ...): the learning rate a scheduler reads and writes is options(g).lr_.
template <class Options>
class TypedOptimizer : public Optimizer {
 public:
  Options& options(size_t group = 0) { check_group(group); return options_[group]; }
  const Options& options(size_t group = 0) const { check_group(group); return options_[group]; }
  const Options& defaults() const { return defaults_; }

  double lr(size_t group) const override { return options(group).lr_; }
  void set_lr(size_t group, double lr) override { options(group).lr_ = lr; }
  nlohmann::json group_options(size_t group) const override {
    return options_to_json(options(group));
  }

 protected:
  // Checks the defaults; the subclass constructor then adds its groups (a
  // base constructor cannot call the virtual add_options).
  TypedOptimizer(std::string name, Options defaults)
      : Optimizer(std::move(name)), defaults_(defaults) {
    defaults_.check(this->name());
  }
  void add_groups(std::vector<ParamGroup> groups) {
    size_t count = 0;
    for (const ParamGroup& g : groups) count += g.params.size();
    DANLU_CHECK(count > 0, name(), ": got an empty parameter list");
    for (ParamGroup& g : groups) add_param_group(std::move(g));
  }

 private:
  void add_options(const nlohmann::json& overrides, const std::string& where) override {
    Options o = options_from_json(overrides, defaults_, where);
    o.check(where);
    options_.push_back(o);
  }
  void load_options(const std::vector<nlohmann::json>& all, const std::string& where) override {
    std::vector<Options> loaded;
    for (size_t g = 0; g < all.size(); ++g) {
      const std::string at = where + ".param_groups[" + std::to_string(g) + "]";
      loaded.push_back(options_from_json(all[g], defaults_, at));
      loaded.back().check(at);
    }
    options_ = std::move(loaded);
  }

  Options defaults_;
  std::vector<Options> options_;  // one per group
};

}  // namespace danlu::optim
