// Param groups, the step loop that skips frozen parameters, the fused-launch
// side of the per-parameter loop, and state save/load with its validation.
#include "optim/optimizer.h"

#include <charconv>
#include <unordered_set>

#include "engine/autograd.h"

namespace danlu::optim {

using nlohmann::json;

Tensor& ParamState::buffer(const std::string& name, const Tensor& like, double init) {
  if (auto it = buffers.find(name); it != buffers.end()) return it->second;
  // Allocated before it is inserted: a failed allocation (out of memory)
  // leaves the state as it was, not holding an undefined buffer.
  Tensor b = Tensor::full(like.shape(), init, TensorOptions(like.dtype()).device(like.device()));
  return buffers.emplace(name, std::move(b)).first->second;
}

void Optimizer::check_group(size_t group) const {
  DANLU_CHECK(group < params_.size(), name_, ": no param group ", group, "; there are ",
              params_.size());
}

const std::vector<Tensor>& Optimizer::params(size_t group) const {
  check_group(group);
  return params_[group];
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> all;
  for (const auto& group : params_) all.insert(all.end(), group.begin(), group.end());
  return all;
}

void Optimizer::add_param_group(ParamGroup group) {
  const std::string where = name_ + ".param_groups[" + std::to_string(params_.size()) + "]";
  std::unordered_set<const TensorImpl*> seen;
  for (const Tensor& p : parameters()) seen.insert(p.impl().get());
  for (size_t i = 0; i < group.params.size(); ++i) {
    const Tensor& p = group.params[i];
    const std::string at = where + ".params[" + std::to_string(i) + "]";
    DANLU_CHECK(p.defined(), at, ": an undefined tensor");
    DANLU_CHECK(is_floating(p.dtype()), at, ": expected a floating tensor, got ", p.str());
    DANLU_CHECK(p.is_leaf(), at, ": can't optimize a non-leaf tensor (the result of an op)");
    DANLU_CHECK(seen.insert(p.impl().get()).second, at,
                ": this parameter appears more than once in the optimizer's groups");
  }
  add_options(group.options, where);
  params_.push_back(std::move(group.params));
  state_.emplace_back(params_.back().size());
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < params_.size(); ++g) {
    std::vector<Slot> slots;
    for (size_t i = 0; i < params_[g].size(); ++i) {
      const Tensor& p = params_[g][i];
      Tensor grad = p.grad();
      if (!p.requires_grad() || !grad.defined()) continue;  // frozen or unused
      DANLU_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype(), name_,
                  ": parameter ", i, " of group ", g, " is ", p.str(), " but its gradient is ",
                  grad.str());
      if (!slots.empty())
        DANLU_CHECK(p.device() == slots[0].param.device(), name_, ": param group ", g,
                    " mixes devices (", slots[0].param.device().str(), " and ",
                    p.device().str(), "); move the model to one device before stepping");
      DANLU_CHECK(grad.device() == p.device(), name_, ": parameter ", i, " of group ", g,
                  " is on ", p.device().str(), " but its gradient is on ", grad.device().str());
      DANLU_CHECK(!p.device().is_cuda() || p.dtype() == DType::f32, name_, ": ", p.str(),
                  ": CUDA optimizer updates are f32");
      ParamState& s = state_[g][i];
      ++s.step;
      slots.push_back({p, grad, s});
    }
    if (!slots.empty()) step_group(g, slots);
  }
}

#ifdef DANLU_WITH_CUDA
kernels::cuda::FusedTable& Optimizer::fused_table(size_t group) {
  if (fused_tables_.size() <= group) fused_tables_.resize(group + 1);
  if (!fused_tables_[group]) fused_tables_[group] = std::make_shared<kernels::cuda::FusedTable>();
  return *fused_tables_[group];
}
#endif

kernels::cuda::FusedTensor Optimizer::fused(const Slot& slot, const SlotBuffers& buffers) {
  kernels::cuda::FusedTensor t;
  t.param = slot.param.data<float>();
  t.grad = slot.grad.data<float>();
  for (size_t k = 0; k < buffers.at.size(); ++k) t.state[k] = buffers.data<float>(k);
  t.n = slot.param.numel();
  t.step = slot.state.step;
  t.fresh = buffers.fresh;
  return t;
}

void Optimizer::zero_grad() {
  for (const auto& group : params_)
    for (const Tensor& p : group) p.zero_grad();
}

OptimizerState Optimizer::state_dict() const {
  OptimizerState out;
  out.meta = {{"optimizer", name_}, {"param_groups", json::array()}, {"state", json::object()}};
  int64_t index = 0;
  for (size_t g = 0; g < params_.size(); ++g) {
    json group = group_options(g);
    group["params"] = json::array();
    for (size_t i = 0; i < params_[g].size(); ++i, ++index) {
      group["params"].push_back(index);
      const ParamState& s = state_[g][i];
      if (s.step == 0 && s.buffers.empty()) continue;  // never updated: no state, as PyTorch
      const std::string key = std::to_string(index);
      out.meta["state"][key] = {{"step", s.step}};
      for (const auto& [name, buffer] : s.buffers)
        out.tensors["state." + key + "." + name] = buffer.clone();
    }
    out.meta["param_groups"].push_back(std::move(group));
  }
  if (json gs = group_state(); !gs.is_null()) out.meta["group_state"] = std::move(gs);
  return out;
}

uint64_t Optimizer::state_bytes() const {
  uint64_t bytes = 0;
  for (const auto& group : state_)
    for (const ParamState& s : group)
      for (const auto& [name, buffer] : s.buffers)
        bytes += uint64_t(buffer.numel()) * element_size(buffer.dtype());
  return bytes;
}

void Optimizer::check_group_state(const json& j, const std::string& where) const {
  DANLU_CHECK(j.is_null(), where, ": ", name_, " keeps no group state, got ", j.dump());
}

void Optimizer::load_state_dict(const OptimizerState& in) {
  const std::string where = name_ + ".load_state_dict";
  const json& meta = in.meta;
  DANLU_CHECK(meta.is_object() && meta.contains("param_groups") && meta["param_groups"].is_array(),
              where, ": the state has no param_groups list; expected what state_dict() returns");
  const json from = meta.value("optimizer", json("(unnamed)"));
  DANLU_CHECK(from == name_, where, ": the state is from ", from.dump(), ", not ", name_);
  const json& groups = meta["param_groups"];
  DANLU_CHECK(groups.size() == params_.size(), where, ": the state has ", groups.size(),
              " param groups, the optimizer ", params_.size());

  // The state's parameter indices -> (group, index in group), pairing them in
  // order with this optimizer's parameters as PyTorch does.
  std::map<int64_t, std::pair<size_t, size_t>> slot_of;
  std::vector<json> options;
  for (size_t g = 0; g < groups.size(); ++g) {
    const json& group = groups[g];
    DANLU_CHECK(group.is_object() && group.contains("params") && group["params"].is_array(),
                where, ".param_groups[", g, "]: expected an object with a params list");
    const json& ids = group["params"];
    DANLU_CHECK(ids.size() == params_[g].size(), where, ": param group ", g, " has ", ids.size(),
                " parameters in the state, ", params_[g].size(), " in the optimizer");
    for (size_t i = 0; i < ids.size(); ++i)
      DANLU_CHECK(ids[i].is_number_integer() && slot_of.emplace(ids[i].get<int64_t>(),
                                                                 std::pair(g, i)).second,
                  where, ".param_groups[", g, "].params[", i,
                  "]: expected a unique parameter index, got ", ids[i].dump());
    json o = group;
    o.erase("params");
    options.push_back(std::move(o));
  }
  auto locate = [&](const std::string& index, const std::string& what) {
    int64_t id = -1;
    const auto [end, err] = std::from_chars(index.data(), index.data() + index.size(), id);
    const auto it = slot_of.find(id);
    DANLU_CHECK(err == std::errc() && end == index.data() + index.size() && it != slot_of.end(),
                where, ": ", what, " names parameter '", index,
                "', which the state's param_groups do not list");
    return it->second;
  };

  std::vector<std::vector<ParamState>> state(params_.size());
  for (size_t g = 0; g < params_.size(); ++g) state[g].resize(params_[g].size());
  const json& saved = meta.contains("state") ? meta["state"] : json::object();
  DANLU_CHECK(saved.is_object(), where, ".state: expected an object, got ", saved.dump());
  for (const auto& [key, value] : saved.items()) {
    const auto [g, i] = locate(key, "state." + key);
    const json step = value.is_object() ? value.value("step", json()) : json();
    DANLU_CHECK(step.is_number_integer() && step.get<int64_t>() >= 0, where, ".state.", key,
                ".step: expected an integer >= 0, got ", step.dump());
    state[g][i].step = step.get<int64_t>();
  }
  for (const auto& [name, t] : in.tensors) {
    const size_t dot = name.find('.', 6);
    DANLU_CHECK(name.rfind("state.", 0) == 0 && dot != std::string::npos && dot + 1 < name.size(),
                where, ": unexpected tensor '", name, "'; expected state.<index>.<buffer>");
    const auto [g, i] = locate(name.substr(6, dot - 6), name);
    const Tensor& p = params_[g][i];
    DANLU_CHECK(t.defined() && is_floating(t.dtype()) && t.shape() == p.shape(), where, ": ",
                name, " is ", t.defined() ? t.str() : "undefined", " but its parameter is ",
                p.str());
    Tensor buffer = Tensor::empty(p.shape(), TensorOptions(p.dtype()).device(p.device()));
    buffer.copy_(t.to(p.dtype()));
    state[g][i].buffers[name.substr(dot + 1)] = buffer;
  }
  const json group_state = meta.contains("group_state") ? meta["group_state"] : json();
  check_group_state(group_state, where + ".group_state");
  load_options(options, where);  // checks then replaces all groups: the last step that may throw
  set_group_state(group_state);
  state_ = std::move(state);
}

}  // namespace danlu::optim
