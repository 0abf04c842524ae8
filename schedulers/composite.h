// Schedules made of schedules, as in PyTorch: SequentialLR runs one after
// another, switching at milestones; ChainedScheduler steps all of them every
// time, so their (chainable) factors multiply.
#pragma once

#include <memory>

#include "schedulers/scheduler.h"

namespace danlu::sched {

class SequentialLR final : public LRScheduler {
 public:
  // The schedulers must drive `target`; milestones (one fewer) are the epochs
  // at which the next one takes over, starting from its own epoch 0.
  SequentialLR(LrTarget& target, std::vector<std::unique_ptr<LRScheduler>> schedulers,
               std::vector<int64_t> milestones);
  std::string name() const override { return "SequentialLR"; }
  using LRScheduler::step;  // step(metric) too
  void step() override;
  void step_to(int64_t epoch) override;  // refused, as in PyTorch

 protected:
  void save_state(nlohmann::json& state) const override;
  void load_state(const nlohmann::json& state) override;

 private:
  std::vector<std::unique_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

class ChainedScheduler final : public LRScheduler {
 public:
  explicit ChainedScheduler(std::vector<std::unique_ptr<LRScheduler>> schedulers);
  std::string name() const override { return "ChainedScheduler"; }
  using LRScheduler::step;  // step(metric) too
  void step() override;
  void step_to(int64_t epoch) override;  // refused, as in PyTorch

 protected:
  void save_state(nlohmann::json& state) const override;
  void load_state(const nlohmann::json& state) override;

 private:
  std::vector<std::unique_ptr<LRScheduler>> schedulers_;
};

}  // namespace danlu::sched
