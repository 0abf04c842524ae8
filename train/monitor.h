// The training health monitor: at its steps it measures, for every layer
// that owns parameters (named as in the module tree, "0" or "layer1.0.conv1"),
// the mean and std of its output, the fraction of dead units of the ReLU
// right after it, its gradient norm, its weight norm and the update ratio
// ||w_after - w_before|| / ||w_before|| across the optimizer step. Every
// statistic is a reduction on the model's device; the host reads them once,
// in read(), so steps without monitoring pay nothing.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace danlu::train {

// One layer at one monitored step. NaN marks what was not measured: the
// activations of a layer that runs inside a block rather than a Sequential,
// the dead fraction of a layer no ReLU follows, the gradient of a frozen one.
struct LayerHealth {
  static constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();
  std::string layer, type;  // "3", "Conv2d"
  double act_mean = kNotMeasured, act_std = kNotMeasured;  // over the output (population std)
  double dead_fraction = kNotMeasured;  // units (channels, features) zero over the whole batch
  double grad_norm = kNotMeasured, weight_norm = kNotMeasured, update_ratio = kNotMeasured;
};

// {"layer":"3","type":"Conv2d","act_mean":...}; NaN becomes null.
nlohmann::json to_json(const LayerHealth& layer);

// One monitored training step. Construct it before the forward pass (it taps
// every Sequential's outputs), call after_backward() once the gradients are
// in place (before clipping), and read() after the optimizer step.
class MonitorStep {
 public:
  explicit MonitorStep(const nn::Module& model);
  void after_backward();
  std::vector<LayerHealth> read();

 private:
  struct Layer {
    std::string name;
    const nn::Module* module;
    std::vector<Tensor> params;  // its own, not its children's
    Tensor act_mean, act_var, unit_sums, grad_sq, weight_sq;  // 0-d, except unit_sums (units)
    std::vector<Tensor> before;  // the parameters before the optimizer step
  };
  void see(const nn::Module& child, const Tensor& output);

  std::vector<Layer> layers_;
  std::map<const nn::Module*, size_t> index_;
  Layer* previous_ = nullptr;  // the layer whose output came just before, for a ReLU to count
  std::optional<nn::OutputTap> tap_;  // installed from construction to after_backward()
};

}  // namespace danlu::train
