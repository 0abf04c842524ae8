// SWATS: option checks, the group step (Adam phase, projection, switching
// test, SGD phase) and the per-group phase in the state dict.
#include "optim/swats.h"

#include <cmath>

#include "kernels/optim.h"

namespace danlu::optim {

using nlohmann::json;

void SWATSOptions::check(const std::string& where) const {
  check_range(lr_ >= 0.0, where, "lr", "a number >= 0", lr_);
  check_range(eps_ >= 0.0, where, "eps", "a number >= 0", eps_);
  check_range(betas_[0] >= 0.0 && betas_[0] < 1.0, where, "betas[0]", "a number in [0, 1)",
              betas_[0]);
  check_range(betas_[1] >= 0.0 && betas_[1] < 1.0, where, "betas[1]", "a number in [0, 1)",
              betas_[1]);
  check_range(weight_decay_ >= 0.0, where, "weight_decay", "a number >= 0", weight_decay_);
  check_range(eps_switch_ >= 0.0, where, "eps_switch", "a number >= 0", eps_switch_);
}

SWATS::SWATS(std::vector<Tensor> params, SWATSOptions options)
    : SWATS(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

SWATS::SWATS(std::vector<ParamGroup> groups, SWATSOptions defaults)
    : TypedOptimizer("SWATS", defaults) {
  add_groups(std::move(groups));
}

SWATS::Phase SWATS::phase(size_t group) const {
  check_group(group);
  return group < phases_.size() ? phases_[group] : Phase();
}

void SWATS::step_group(size_t group, const std::vector<Slot>& slots) {
  const SWATSOptions& o = options(group);
  if (phases_.size() < num_param_groups()) phases_.resize(num_param_groups());
  Phase& ph = phases_[group];
  ++ph.step;
  const double rate = ph.switched ? ph.sgd_lr * (o.lr_ / ph.switch_lr) : 0.0;
  double s_dot_g = 0.0, s_dot_s = 0.0;  // s.g and s.s over the group (Adam phase)
  update_slots(
      group, slots,
      [&](const Slot& s) {
        // v_k starts at 0 after the switch.
        if (ph.switched) return SlotBuffers{{s.state.buffer("momentum_buffer", s.param)}};
        return SlotBuffers{
            {s.state.buffer("exp_avg", s.param), s.state.buffer("exp_avg_sq", s.param)}};
      },
      [&](auto tag, const Slot& s, const SlotBuffers& b) {
        using T = decltype(tag);
        // The buffers in the fused kernel's order: {exp_avg, exp_avg_sq}, or
        // {momentum_buffer} after the switch.
        T* m = ph.switched ? nullptr : b.data<T>(0);
        T* v = ph.switched ? nullptr : b.data<T>(1);
        T* buf = ph.switched ? b.data<T>(0) : nullptr;
        kernels::cpu::swats_update<T>(s.param.data<T>(), s.grad.data<T>(), m, v, buf,
                                      s.param.numel(), o.lr_, o.betas_[0], o.betas_[1], o.eps_,
                                      o.weight_decay_, s.state.step, ph.switched, rate, &s_dot_g,
                                      &s_dot_s);
      },
      [&](auto& table, const auto& tensors, auto stream) {
        kernels::cuda::swats_update(table, tensors, o.lr_, o.betas_[0], o.betas_[1], o.eps_,
                                    o.weight_decay_, ph.switched, rate, &s_dot_g, &s_dot_s,
                                    stream);
      });
  if (ph.switched || s_dot_g == 0.0) return;  // the paper updates lambda only when s.g != 0
  const double beta2 = o.betas_[1];
  const double gamma = s_dot_s / -s_dot_g;
  ph.lambda = beta2 * ph.lambda + (1.0 - beta2) * gamma;
  const double estimate = ph.lambda / (1.0 - std::pow(beta2, static_cast<double>(ph.step)));
  if (ph.step > 1 && std::abs(estimate - gamma) < o.eps_switch_) {
    ph.switched = true;
    ph.switch_step = ph.step;
    ph.sgd_lr = estimate;
    ph.switch_lr = o.lr_;
    for (size_t i = 0; i < params(group).size(); ++i) {  // Adam's moments are done with
      state(group, i).buffers.erase("exp_avg");
      state(group, i).buffers.erase("exp_avg_sq");
    }
  }
}

json SWATS::group_state() const {
  json out = json::array();
  for (size_t g = 0; g < num_param_groups(); ++g) {
    const Phase ph = phase(g);
    out.push_back({{"step", ph.step}, {"lambda", ph.lambda}, {"switched", ph.switched},
                   {"switch_step", ph.switch_step}, {"sgd_lr", ph.sgd_lr},
                   {"switch_lr", ph.switch_lr}});
  }
  return out;
}

SWATS::Phase SWATS::phase_from_json(const json& j, const std::string& where) {
  const auto has = [&](const char* key, bool (json::*is)() const noexcept) {
    return j.contains(key) && (j[key].*is)();
  };
  DANLU_CHECK(j.is_object() && has("step", &json::is_number_integer) &&
                  has("lambda", &json::is_number) && has("switched", &json::is_boolean) &&
                  has("switch_step", &json::is_number_integer) &&
                  has("sgd_lr", &json::is_number) && has("switch_lr", &json::is_number),
              where, ": expected {step, lambda, switched, switch_step, sgd_lr, switch_lr}, got ",
              j.dump());
  const Phase ph{j["step"].get<int64_t>(), j["lambda"].get<double>(),
                 j["switched"].get<bool>(), j["switch_step"].get<int64_t>(),
                 j["sgd_lr"].get<double>(), j["switch_lr"].get<double>()};
  // The SGD phase divides by switch_lr; a real switch records a positive one.
  DANLU_CHECK(!ph.switched || ph.switch_lr > 0.0, where,
              ": a switched group needs switch_lr > 0, got ", j.dump());
  return ph;
}

void SWATS::check_group_state(const json& j, const std::string& where) const {
  DANLU_CHECK(j.is_array() && j.size() == num_param_groups(), where, ": expected one entry per ",
              "param group (", num_param_groups(), "), got ", j.dump());
  for (size_t g = 0; g < j.size(); ++g)
    phase_from_json(j[g], where + "[" + std::to_string(g) + "]");
}

void SWATS::set_group_state(const json& j) {
  phases_.clear();
  for (const json& entry : j) phases_.push_back(phase_from_json(entry, "SWATS.group_state"));
}

}  // namespace danlu::optim
