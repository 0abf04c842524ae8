// PyTorch's CyclicLR (Smith, "Cyclical Learning Rates for Training Neural
// Networks"): the lr runs up from base_lr to max_lr and back in triangles,
// optionally shrinking each cycle, while momentum runs the opposite way.
#pragma once

#include <functional>
#include <optional>

#include "schedulers/scheduler.h"

namespace danlu::sched {

enum class CyclicMode { triangular, triangular2, exp_range };
// What a custom scale_fn is evaluated on: the cycle number or the iteration.
enum class ScaleMode { cycle, iterations };

struct CyclicLROptions {
  // base_lr, max_lr: one value for every param group or one per group.
  CyclicLROptions(std::vector<double> base_lr, std::vector<double> max_lr)
      : base_lr_(std::move(base_lr)), max_lr_(std::move(max_lr)) {}
  CyclicLROptions& step_size_up(double v) { step_size_up_ = v; return *this; }
  CyclicLROptions& step_size_down(double v) { step_size_down_ = v; return *this; }
  CyclicLROptions& mode(CyclicMode v) { mode_ = v; return *this; }
  CyclicLROptions& gamma(double v) { gamma_ = v; return *this; }
  // A custom amplitude scale in [0, 1]; replaces `mode`.
  CyclicLROptions& scale_fn(std::function<double(double)> f, ScaleMode m = ScaleMode::cycle) {
    scale_fn_ = std::move(f);
    scale_mode_ = m;
    return *this;
  }
  CyclicLROptions& cycle_momentum(bool v) { cycle_momentum_ = v; return *this; }
  CyclicLROptions& base_momentum(std::vector<double> v) {
    base_momentum_ = std::move(v);
    return *this;
  }
  CyclicLROptions& max_momentum(std::vector<double> v) {
    max_momentum_ = std::move(v);
    return *this;
  }

  std::vector<double> base_lr_;
  std::vector<double> max_lr_;
  double step_size_up_ = 2000;
  std::optional<double> step_size_down_;  // step_size_up when unset
  CyclicMode mode_ = CyclicMode::triangular;
  double gamma_ = 1.0;
  std::function<double(double)> scale_fn_;
  ScaleMode scale_mode_ = ScaleMode::cycle;
  bool cycle_momentum_ = true;
  std::vector<double> base_momentum_{0.8};
  std::vector<double> max_momentum_{0.9};
};

class CyclicLR final : public LRScheduler {
 public:
  CyclicLR(LrTarget& target, CyclicLROptions options);
  std::string name() const override { return "CyclicLR"; }

 protected:
  std::vector<double> get_lr() override;
  void save_state(nlohmann::json& state) const override;
  void load_state(const nlohmann::json& state) override;

 private:
  double scale(double cycle) const;

  CyclicLROptions options_;
  std::vector<double> max_lrs_;
  std::vector<double> base_momentums_;
  std::vector<double> max_momentums_;
  double total_size_;
  double step_ratio_;
  ScaleMode scale_mode_;
};

}  // namespace danlu::sched
