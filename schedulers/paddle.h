// PaddlePaddle's schedules that PyTorch lacks (paddle.optimizer.lr), with
// Paddle's parameter names and formulas: PiecewiseDecay, NaturalExpDecay,
// InverseTimeDecay, PolynomialDecay, LinearWarmup and NoamDecay.
//
// Paddle's `learning_rate` is optional here: std::nullopt means each param
// group's own lr (PyTorch's initial_lr), so per-group lrs survive; a number
// sets every group's lr, as Paddle's single-lr optimizers do.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "schedulers/scheduler.h"

namespace danlu::sched {

// lr = values[i] for boundaries[i-1] <= epoch < boundaries[i].
class PiecewiseDecay final : public LRScheduler {
 public:
  PiecewiseDecay(LrTarget& target, std::vector<int64_t> boundaries, std::vector<double> values);
  std::string name() const override { return "PiecewiseDecay"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::vector<int64_t> boundaries_;
  std::vector<double> values_;
};

// lr = learning_rate * exp(-gamma * epoch).
class NaturalExpDecay final : public LRScheduler {
 public:
  NaturalExpDecay(LrTarget& target, std::optional<double> learning_rate, double gamma);
  std::string name() const override { return "NaturalExpDecay"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::optional<double> learning_rate_;
  double gamma_;
};

// lr = learning_rate / (1 + gamma * epoch).
class InverseTimeDecay final : public LRScheduler {
 public:
  InverseTimeDecay(LrTarget& target, std::optional<double> learning_rate, double gamma);
  std::string name() const override { return "InverseTimeDecay"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::optional<double> learning_rate_;
  double gamma_;
};

// lr = (learning_rate - end_lr) * (1 - epoch / decay_steps)^power + end_lr,
// epoch capped at decay_steps; with `cycle`, decay_steps grows to the next
// multiple of itself instead, so the lr jumps back up and decays again.
class PolynomialDecay final : public LRScheduler {
 public:
  PolynomialDecay(LrTarget& target, std::optional<double> learning_rate, int64_t decay_steps,
                  double end_lr = 0.0001, double power = 1.0, bool cycle = false);
  std::string name() const override { return "PolynomialDecay"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  std::optional<double> learning_rate_;
  int64_t decay_steps_;
  double end_lr_;
  double power_;
  bool cycle_;
};

// lr goes linearly from start_lr to end_lr over warmup_steps, then follows
// `learning_rate`: a number, or a schedule that starts at its own epoch 0 when
// the warm-up ends (Paddle steps it with step(epoch - warmup_steps)).
class LinearWarmup final : public LRScheduler {
 public:
  // Builds the schedule that follows the warm-up; it drives a private copy of
  // the target's lrs, which the warm-up copies into the target once it ends.
  using Schedule = std::function<std::unique_ptr<LRScheduler>(LrTarget&)>;

  LinearWarmup(LrTarget& target, Schedule learning_rate, int64_t warmup_steps, double start_lr,
               double end_lr);
  LinearWarmup(LrTarget& target, std::optional<double> learning_rate, int64_t warmup_steps,
               double start_lr, double end_lr);
  ~LinearWarmup() override;
  std::string name() const override { return "LinearWarmup"; }

 protected:
  std::vector<double> get_lr() override;
  void save_state(nlohmann::json& state) const override;
  void load_state(const nlohmann::json& state) override;

 private:
  class PrivateLrs;
  LinearWarmup(LrTarget& target, int64_t warmup_steps, double start_lr, double end_lr);

  int64_t warmup_steps_;
  double start_lr_;
  double end_lr_;
  std::optional<double> learning_rate_;
  std::unique_ptr<PrivateLrs> private_lrs_;  // declared before after_, which drives it
  std::unique_ptr<LRScheduler> after_;
};

// lr = learning_rate * d_model^-0.5 * min(epoch^-0.5, epoch * warmup_steps^-1.5)
// ("Attention Is All You Need"). Paddle's learning_rate defaults to 1.0; here
// it defaults to the group's lr like the others, so give 1.0 for Paddle's.
class NoamDecay final : public LRScheduler {
 public:
  NoamDecay(LrTarget& target, double d_model, int64_t warmup_steps,
            std::optional<double> learning_rate = std::nullopt);
  std::string name() const override { return "NoamDecay"; }

 protected:
  std::vector<double> get_lr() override;

 private:
  double d_model_;
  int64_t warmup_steps_;
  std::optional<double> learning_rate_;
};

}  // namespace danlu::sched
