// PyTorch's ReduceLROnPlateau: multiplies the lrs by `factor` once a watched
// metric has not improved for `patience` steps, then waits `cooldown` steps.
#pragma once

#include "schedulers/scheduler.h"

namespace danlu::sched {

enum class PlateauMode { min, max };         // the metric should fall / rise
enum class ThresholdMode { rel, abs };       // improvement relative to best / absolute

struct ReduceLROnPlateauOptions {
  ReduceLROnPlateauOptions& mode(PlateauMode v) { mode_ = v; return *this; }
  ReduceLROnPlateauOptions& factor(double v) { factor_ = v; return *this; }
  ReduceLROnPlateauOptions& patience(int64_t v) { patience_ = v; return *this; }
  ReduceLROnPlateauOptions& threshold(double v) { threshold_ = v; return *this; }
  ReduceLROnPlateauOptions& threshold_mode(ThresholdMode v) { threshold_mode_ = v; return *this; }
  ReduceLROnPlateauOptions& cooldown(int64_t v) { cooldown_ = v; return *this; }
  ReduceLROnPlateauOptions& min_lr(std::vector<double> v) { min_lr_ = std::move(v); return *this; }
  ReduceLROnPlateauOptions& eps(double v) { eps_ = v; return *this; }

  PlateauMode mode_ = PlateauMode::min;
  double factor_ = 0.1;
  int64_t patience_ = 10;
  double threshold_ = 1e-4;
  ThresholdMode threshold_mode_ = ThresholdMode::rel;
  int64_t cooldown_ = 0;
  std::vector<double> min_lr_{0.0};  // one for all groups or one per group
  double eps_ = 1e-8;
};

class ReduceLROnPlateau final : public LRScheduler {
 public:
  explicit ReduceLROnPlateau(LrTarget& target,
                             ReduceLROnPlateauOptions options = ReduceLROnPlateauOptions());
  std::string name() const override { return "ReduceLROnPlateau"; }
  bool needs_metric() const override { return true; }
  // Refused: the schedule needs the metric.
  void step() override;
  void step(double metric) override;

  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }

 protected:
  void save_state(nlohmann::json& state) const override;
  void load_state(const nlohmann::json& state) override;

 private:
  bool is_better(double a, double best) const;
  double mode_worse() const;

  ReduceLROnPlateauOptions options_;
  std::vector<double> min_lrs_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

}  // namespace danlu::sched
