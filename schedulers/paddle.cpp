// Paddle's schedules, transcribed from paddle/optimizer/lr.py (Paddle 2.x)
// operation by operation. Each is a closed form of the epoch, evaluated per
// param group with that group's learning rate.
#include "schedulers/paddle.h"

#include <algorithm>
#include <cmath>

#include "schedulers/check.h"

namespace danlu::sched {

namespace {

void check_learning_rate(const std::optional<double>& lr, const std::string& scheduler,
                         const char* param = "learning_rate") {
  check_range(!lr || *lr >= 0, scheduler, param, "a number >= 0", lr.value_or(0));
}

// The schedule's learning rate for group g: its own, or else the group's.
double lr_of(const std::optional<double>& lr, const std::vector<double>& base_lrs, size_t g) {
  return lr ? *lr : base_lrs[g];
}

}  // namespace

PiecewiseDecay::PiecewiseDecay(LrTarget& target, std::vector<int64_t> boundaries,
                               std::vector<double> values)
    : LRScheduler(target), boundaries_(std::move(boundaries)), values_(std::move(values)) {
  require_sorted(boundaries_, 0, true, name(), "boundaries");
  check_range(values_.size() == boundaries_.size() + 1, name(), "values",
          std::to_string(boundaries_.size() + 1) + " numbers (one more than boundaries)",
          format_list(values_));
  require_each(
      values_, [](double x) { return x >= 0; }, name(), "values", "numbers >= 0");
  initial_step();
}

std::vector<double> PiecewiseDecay::get_lr() {
  size_t i = 0;
  while (i < boundaries_.size() && last_epoch_ >= boundaries_[i]) ++i;
  return std::vector<double>(groups(), values_[i]);
}

NaturalExpDecay::NaturalExpDecay(LrTarget& target, std::optional<double> learning_rate,
                                 double gamma)
    : LRScheduler(target), learning_rate_(learning_rate), gamma_(gamma) {
  check_learning_rate(learning_rate, name());
  check_range(gamma > 0, name(), "gamma", "a number > 0", gamma);
  initial_step();
}

std::vector<double> NaturalExpDecay::get_lr() {
  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g)
    lrs[g] = lr_of(learning_rate_, base_lrs_, g) * std::exp(-1 * gamma_ * double(last_epoch_));
  return lrs;
}

InverseTimeDecay::InverseTimeDecay(LrTarget& target, std::optional<double> learning_rate,
                                   double gamma)
    : LRScheduler(target), learning_rate_(learning_rate), gamma_(gamma) {
  check_learning_rate(learning_rate, name());
  check_range(gamma > 0, name(), "gamma", "a number > 0", gamma);
  initial_step();
}

std::vector<double> InverseTimeDecay::get_lr() {
  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g)
    lrs[g] = lr_of(learning_rate_, base_lrs_, g) / (1 + gamma_ * double(last_epoch_));
  return lrs;
}

PolynomialDecay::PolynomialDecay(LrTarget& target, std::optional<double> learning_rate,
                                 int64_t decay_steps, double end_lr, double power, bool cycle)
    : LRScheduler(target),
      learning_rate_(learning_rate),
      decay_steps_(decay_steps),
      end_lr_(end_lr),
      power_(power),
      cycle_(cycle) {
  check_learning_rate(learning_rate, name());
  check_range(decay_steps >= 1, name(), "decay_steps", "an integer >= 1", double(decay_steps));
  check_range(end_lr >= 0, name(), "end_lr", "a number >= 0", end_lr);
  check_range(power > 0, name(), "power", "a number > 0", power);
  initial_step();
}

std::vector<double> PolynomialDecay::get_lr() {
  int64_t epoch = last_epoch_;
  int64_t decay_steps = decay_steps_;
  if (cycle_) {
    int64_t div_res = int64_t(std::ceil(double(last_epoch_) / double(decay_steps_)));
    if (last_epoch_ == 0) div_res = 1;
    decay_steps = decay_steps_ * div_res;
  } else {
    epoch = std::min(last_epoch_, decay_steps_);
  }
  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g)
    lrs[g] = (lr_of(learning_rate_, base_lrs_, g) - end_lr_) *
                 std::pow(1 - double(epoch) / double(decay_steps), power_) +
             end_lr_;
  return lrs;
}

// The lrs the schedule after the warm-up drives; momentum is the target's.
class LinearWarmup::PrivateLrs final : public LrTarget {
 public:
  PrivateLrs(LrTarget& target, std::vector<double> lrs) : target_(target), lrs_(std::move(lrs)) {}
  size_t num_param_groups() const override { return lrs_.size(); }
  double lr(size_t g) const override { return lrs_[g]; }
  void set_lr(size_t g, double lr) override { lrs_[g] = lr; }
  bool has_momentum() const override { return target_.has_momentum(); }
  double momentum(size_t g) const override { return target_.momentum(g); }
  void set_momentum(size_t g, double m) override { target_.set_momentum(g, m); }

 private:
  LrTarget& target_;
  std::vector<double> lrs_;
};

LinearWarmup::LinearWarmup(LrTarget& target, int64_t warmup_steps, double start_lr, double end_lr)
    : LRScheduler(target), warmup_steps_(warmup_steps), start_lr_(start_lr), end_lr_(end_lr) {
  check_range(warmup_steps >= 1, name(), "warmup_steps", "an integer >= 1", double(warmup_steps));
  check_range(start_lr >= 0, name(), "start_lr", "a number >= 0", start_lr);
  check_range(end_lr > start_lr, name(), "end_lr",
          "a number > start_lr (" + format_number(start_lr) + ")", end_lr);
}

LinearWarmup::LinearWarmup(LrTarget& target, Schedule learning_rate, int64_t warmup_steps,
                           double start_lr, double end_lr)
    : LinearWarmup(target, warmup_steps, start_lr, end_lr) {
  DANLU_CHECK(learning_rate, "LinearWarmup: the schedule after the warm-up is empty");
  private_lrs_ = std::make_unique<PrivateLrs>(target, base_lrs_);
  after_ = learning_rate(*private_lrs_);
  DANLU_CHECK(after_ && &after_->target() == private_lrs_.get(),
              "LinearWarmup: the schedule after the warm-up must drive the LrTarget it is given");
  initial_step();
}

LinearWarmup::LinearWarmup(LrTarget& target, std::optional<double> learning_rate,
                           int64_t warmup_steps, double start_lr, double end_lr)
    : LinearWarmup(target, warmup_steps, start_lr, end_lr) {
  check_learning_rate(learning_rate, name());
  learning_rate_ = learning_rate;
  initial_step();
}

LinearWarmup::~LinearWarmup() = default;

std::vector<double> LinearWarmup::get_lr() {
  if (last_epoch_ < warmup_steps_) {
    const double lr =
        (end_lr_ - start_lr_) * double(last_epoch_) / double(warmup_steps_) + start_lr_;
    return std::vector<double>(groups(), lr);
  }
  if (after_) {
    after_->step_to(last_epoch_ - warmup_steps_);
    return after_->get_last_lr();
  }
  return learning_rate_ ? std::vector<double>(groups(), *learning_rate_) : base_lrs_;
}

void LinearWarmup::save_state(nlohmann::json& state) const {
  if (after_) state["learning_rate"] = after_->state_dict();
}

void LinearWarmup::load_state(const nlohmann::json& state) {
  if (after_) after_->load_state_dict(state.at("learning_rate"));
}

NoamDecay::NoamDecay(LrTarget& target, double d_model, int64_t warmup_steps,
                     std::optional<double> learning_rate)
    : LRScheduler(target),
      d_model_(d_model),
      warmup_steps_(warmup_steps),
      learning_rate_(learning_rate) {
  check_range(d_model > 0, name(), "d_model", "a number > 0", d_model);
  check_range(warmup_steps >= 1, name(), "warmup_steps", "an integer >= 1", double(warmup_steps));
  check_learning_rate(learning_rate, name());
  initial_step();
}

std::vector<double> NoamDecay::get_lr() {
  const double e = double(last_epoch_);
  const double a = last_epoch_ == 0 ? 1 : std::pow(e, -0.5);
  const double b = std::pow(double(warmup_steps_), -1.5) * e;
  std::vector<double> lrs(groups());
  for (size_t g = 0; g < lrs.size(); ++g)
    lrs[g] = lr_of(learning_rate_, base_lrs_, g) * std::pow(d_model_, -0.5) * std::min(a, b);
  return lrs;
}

}  // namespace danlu::sched
