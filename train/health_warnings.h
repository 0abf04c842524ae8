// Plain-words warnings from the health monitor's records, each with the
// layer's name, its numbers and what to do: vanishing and exploding
// gradients, mostly dead ReLUs, and update ratios far from the rule of thumb
// ||dw||/||w|| ~ 1e-3. Each condition is reported once per run, at the first
// monitored step that shows it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "train/monitor.h"

namespace danlu::train {

struct HealthWarning {
  std::string condition;  // vanishing_gradients, exploding_gradients, dead_units,
                          // update_ratio_high, update_ratio_low
  std::string message;    // one line
};

// The thresholds, stated once.
struct HealthLimits {
  double vanishing = 1e-2;   // first layer's gradient norm / the last layer's
  double exploding = 100;    // a layer's gradient norm / its value at the first monitored step
  double dead = 0.5;         // fraction of a ReLU's units dead
  double ratio_low = 1e-5, ratio_high = 1e-1;  // the median layer's update ratio: ~1e-3 is healthy
};

class HealthWarnings {
 public:
  // `base_lr`: the configured learning rate (0: unknown).
  explicit HealthWarnings(double base_lr = 0, HealthLimits limits = {})
      : base_lr_(base_lr), limits_(limits) {}
  // The warnings `layers` (one monitored step, trained at learning rate
  // `lr`) raise that were not raised before.
  std::vector<HealthWarning> check(const std::vector<LayerHealth>& layers, int64_t step, double lr);

 private:
  void vanishing(const std::vector<LayerHealth>& layers, std::vector<HealthWarning>& out);
  void exploding(const std::vector<LayerHealth>& layers, std::vector<HealthWarning>& out);
  void dead(const std::vector<LayerHealth>& layers, std::vector<HealthWarning>& out);
  void update_ratio(const std::vector<LayerHealth>& layers, double lr,
                    std::vector<HealthWarning>& out);
  void add(const std::string& condition, const std::string& message,
           std::vector<HealthWarning>& out);

  double base_lr_;
  HealthLimits limits_;
  int64_t step_ = 0;
  std::set<std::string> given_;
  std::map<std::string, double> first_grad_norm_;  // per layer
};

}  // namespace danlu::train
