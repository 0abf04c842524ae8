// The monitor's reductions, enqueued on the model's device as the step runs
// and read back together at its end.
#include "train/monitor.h"

#include <cmath>
#include <utility>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "layers/activation.h"

namespace danlu::train {

using nlohmann::json;

namespace {

// Every module that owns parameters, depth first, under its dotted name.
void collect(const nn::Module& module, const std::string& name,
             std::vector<std::pair<std::string, const nn::Module*>>& out) {
  if (!module.named_parameters(/*recurse=*/false).empty()) out.emplace_back(name, &module);
  for (const auto& [child, m] : module.named_children().items())
    collect(*m, name.empty() ? child : name + "." + child, out);
}

Tensor squared_norm(const Tensor& t) { return sum(mul(t, t)); }

double sqrt_of(const Tensor& squared) {
  return squared.defined() ? std::sqrt(squared.item()) : LayerHealth::kNotMeasured;
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace

json to_json(const LayerHealth& l) {
  return {{"layer", l.layer},
          {"type", l.type},
          {"act_mean", number_or_null(l.act_mean)},
          {"act_std", number_or_null(l.act_std)},
          {"dead_fraction", number_or_null(l.dead_fraction)},
          {"grad_norm", number_or_null(l.grad_norm)},
          {"weight_norm", number_or_null(l.weight_norm)},
          {"update_ratio", number_or_null(l.update_ratio)}};
}

MonitorStep::MonitorStep(const nn::Module& model) {
  std::vector<std::pair<std::string, const nn::Module*>> found;
  collect(model, "", found);
  for (const auto& [name, module] : found) {
    index_[module] = layers_.size();
    Layer l{name, module, module->parameters(/*recurse=*/false), {}, {}, {}, {}, {}, {}};
    layers_.push_back(std::move(l));
  }
  tap_.emplace([this](const nn::Module& child, const Tensor& output) { see(child, output); });
}

void MonitorStep::see(const nn::Module& child, const Tensor& output) {
  const NoGradGuard no_grad;
  const Tensor y = output.detach();
  Layer* previous = std::exchange(previous_, nullptr);
  if (const auto it = index_.find(&child); it != index_.end()) {
    Layer& l = layers_[it->second];
    l.act_mean = mean(y);
    const Tensor centred = sub(y, l.act_mean);
    l.act_var = mean(mul(centred, centred));
    previous_ = &l;
  } else if (previous && dynamic_cast<const nn::ReLU*>(&child) && y.dim() >= 2) {
    // A unit is a channel (N, C, ...) or a feature (N, F): sum over the rest.
    std::vector<int64_t> dims = {0};
    for (int d = 2; d < y.dim(); ++d) dims.push_back(d);
    previous->unit_sums = sum(y, dims);
  }
}

void MonitorStep::after_backward() {
  tap_.reset();
  const NoGradGuard no_grad;
  for (Layer& l : layers_) {
    for (const Tensor& p : l.params) {
      const Tensor w = p.detach();
      l.weight_sq = l.weight_sq.defined() ? add(l.weight_sq, squared_norm(w)) : squared_norm(w);
      l.before.push_back(w.clone());
      if (!p.grad().defined()) continue;
      const Tensor g_sq = squared_norm(p.grad());
      l.grad_sq = l.grad_sq.defined() ? add(l.grad_sq, g_sq) : g_sq;
    }
  }
}

std::vector<LayerHealth> MonitorStep::read() {
  const NoGradGuard no_grad;
  std::vector<LayerHealth> out;
  for (Layer& l : layers_) {
    Tensor update_sq;
    for (size_t i = 0; i < l.params.size(); ++i) {
      const Tensor d_sq = squared_norm(sub(l.params[i].detach(), l.before[i]));
      update_sq = update_sq.defined() ? add(update_sq, d_sq) : d_sq;
    }
    LayerHealth h;
    h.layer = l.name, h.type = l.module->name();
    if (l.act_mean.defined()) h.act_mean = l.act_mean.item(), h.act_std = sqrt_of(l.act_var);
    if (l.unit_sums.defined()) {
      const std::vector<double> sums = l.unit_sums.to_vector();
      int64_t dead = 0;
      for (double s : sums) dead += s == 0;
      h.dead_fraction = double(dead) / double(sums.size());
    }
    h.grad_norm = sqrt_of(l.grad_sq);
    h.weight_norm = sqrt_of(l.weight_sq);
    h.update_ratio = sqrt_of(update_sq) / h.weight_norm;
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace danlu::train
