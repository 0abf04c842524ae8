// LRScheduler: PyTorch 1.13's _LRScheduler step, state and initial_lr record.
#include "schedulers/scheduler.h"

#include <map>
#include <mutex>

#include "engine/error.h"
#include "schedulers/check.h"

namespace danlu::sched {

namespace {

// The initial_lr record (see scheduler.h): lrs plus the number of live
// schedulers over the target, so an entry never outlives its target.
struct InitialLrs {
  std::vector<double> lrs;
  int schedulers = 0;
};
std::mutex registry_mutex;
std::map<const LrTarget*, InitialLrs>& registry() {
  static std::map<const LrTarget*, InitialLrs> r;
  return r;
}

std::vector<double> lrs_of(const LrTarget& t) {
  std::vector<double> lrs(t.num_param_groups());
  for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = t.lr(g);
  return lrs;
}

// PyTorch's group.setdefault("initial_lr", group["lr"]) for every group.
std::vector<double> acquire(const LrTarget& t) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  InitialLrs& record = registry()[&t];
  for (size_t g = record.lrs.size(); g < t.num_param_groups(); ++g) record.lrs.push_back(t.lr(g));
  ++record.schedulers;
  return record.lrs;
}

void release(const LrTarget& t) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry().find(&t);
  if (it != registry().end() && --it->second.schedulers <= 0) registry().erase(it);
}

}  // namespace

std::vector<double> initial_lrs(const LrTarget& target) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry().find(&target);
  return it == registry().end() ? lrs_of(target) : it->second.lrs;
}

void overwrite_initial_lrs(const LrTarget& target, const std::vector<double>& lrs) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry()[&target].lrs = lrs;
}

std::vector<double> per_group(const std::vector<double>& values, size_t groups,
                              const std::string& scheduler, const std::string& param) {
  if (values.size() == groups) return values;
  check_range(values.size() == 1, scheduler, param,
          "one value or one per param group (" + std::to_string(groups) + ")", format_list(values));
  return std::vector<double>(groups, values[0]);
}

LRScheduler::LRScheduler(LrTarget& target)
    : target_(target), base_lrs_(acquire(target)), last_lr_(lrs_of(target)) {}

LRScheduler::~LRScheduler() { release(target_); }

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

void LRScheduler::step() {
  ++step_count_;
  ++last_epoch_;
  apply(get_lr());
}

void LRScheduler::step(double /*metric*/) { step(); }

void LRScheduler::step_to(int64_t epoch) {
  ++step_count_;
  last_epoch_ = epoch;
  apply(closed_form_lr());
}

std::vector<double> LRScheduler::get_lr() {
  DANLU_FAIL(name(), " sets its lrs in step(); it has no get_lr()");
}

void LRScheduler::apply(const std::vector<double>& lrs) {
  for (size_t g = 0; g < lrs.size(); ++g) target_.set_lr(g, lrs[g]);
  last_lr_ = current_lrs();
}

std::vector<double> LRScheduler::current_lrs() const { return lrs_of(target_); }

std::vector<double> LRScheduler::current_momentum() const {
  std::vector<double> m(groups());
  for (size_t g = 0; g < m.size(); ++g) m[g] = target_.momentum(g);
  return m;
}

void LRScheduler::set_momentum(const std::vector<double>& momentum) {
  for (size_t g = 0; g < momentum.size(); ++g) target_.set_momentum(g, momentum[g]);
}

nlohmann::json LRScheduler::state_dict() const {
  nlohmann::json s = {{"type", name()},
                      {"last_epoch", last_epoch_},
                      {"step_count", step_count_},
                      {"base_lrs", base_lrs_},
                      {"last_lr", last_lr_}};
  save_state(s);
  return s;
}

void LRScheduler::load_state_dict(const nlohmann::json& s) {
  try {
    const std::string type = s.at("type").get<std::string>();
    DANLU_CHECK(type == name(), "scheduler state: saved by ", type, ", cannot load into ", name());
    auto base_lrs = s.at("base_lrs").get<std::vector<double>>();
    auto last_lr = s.at("last_lr").get<std::vector<double>>();
    DANLU_CHECK(base_lrs.size() == groups() && last_lr.size() == groups(),
                "scheduler state: ", name(), " saved for ", base_lrs.size(),
                " param groups, the optimizer has ", groups());
    last_epoch_ = s.at("last_epoch").get<int64_t>();
    step_count_ = s.at("step_count").get<int64_t>();
    base_lrs_ = std::move(base_lrs);
    last_lr_ = std::move(last_lr);
    load_state(s);
  } catch (const nlohmann::json::exception& e) {
    DANLU_FAIL("scheduler state: ", name(), ": ", e.what());
  }
  for (size_t g = 0; g < last_lr_.size(); ++g) target_.set_lr(g, last_lr_[g]);
}

}  // namespace danlu::sched
