// StepProfiler: scope changes become host-clock and GPU-event intervals,
// summed per (label, pass) row.
#include "train/step_profile.h"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "engine/sync_check.h"

namespace danlu::train {

namespace {
const std::string kOutside = "host work outside the scopes below";
}  // namespace

const char* pass_name(Pass pass) {
  switch (pass) {
    case Pass::forward: return "forward";
    case Pass::backward: return "backward";
    case Pass::other: return "-";
  }
  return "?";
}

StepProfiler::StepProfiler(const nn::Module& model, Device device, int64_t batch_size)
    : device_(device), batch_size_(batch_size) {
  std::function<void(const nn::Module&, const std::string&)> walk =
      [&](const nn::Module& m, const std::string& path) {
        auto label = std::make_unique<std::string>((path.empty() ? "model" : path) + " (" +
                                                   m.name() + ")");
        types_[*label] = m.name();
        labels_[&m] = std::move(label);
        for (const auto& [name, child] : m.named_children().items())
          walk(*child, path.empty() ? name : path + "." + name);
      };
  walk(model, "");
}

const std::string* StepProfiler::layer_label(const void* module) const {
  const auto it = labels_.find(module);
  return it == labels_.end() ? nullptr : it->second.get();
}

int StepProfiler::row_of(const std::string& label, Pass pass) {
  const auto [it, added] = index_.try_emplace({label, pass}, static_cast<int>(rows_.size()));
  if (added) {
    const auto type = types_.find(label);
    rows_.push_back({label, type == types_.end() ? label : type->second, pass});
  }
  return it->second;
}

void StepProfiler::switch_scope() {
  const Clock::time_point now = Clock::now();
  if (!open_.empty())
    rows_[open_.back()].host_ms += std::chrono::duration<double, std::milli>(now - last_switch_).count();
  last_switch_ = now;
  if (!device_.is_cuda()) return;
  if (used_events_ == events_.size()) {
    const CudaDeviceGuard guard(device_);
    events_.emplace_back(true);
  }
  events_[used_events_++].record(compute_stream(device_));
  charged_.push_back(open_.empty() ? -1 : open_.back());
}

void StepProfiler::enter(const std::string& label, Pass pass) {
  switch_scope();
  const int row = row_of(label, pass);
  ++rows_[row].calls;
  open_.push_back(row);
}

void StepProfiler::leave() {
  switch_scope();
  open_.pop_back();
}

void StepProfiler::begin_step() {
  used_events_ = 0;
  charged_.clear();
  enter(kOutside, Pass::other);
  step_start_ = last_switch_;
  launches_at_start_ = kernel_launches(), blocking_at_start_ = blocking_cuda_calls();
}

void StepProfiler::end_step() {
  leave();
  host_total_ms_ += std::chrono::duration<double, std::milli>(last_switch_ - step_start_).count();
  ++steps_;
  if (!device_.is_cuda()) return;
  launches_ += kernel_launches() - launches_at_start_;
  blocking_calls_ += blocking_cuda_calls() - blocking_at_start_;  // before the wait below
  events_[used_events_ - 1].synchronize();
  for (size_t k = 1; k < used_events_; ++k) {
    const double ms = elapsed_ms(events_[k - 1], events_[k]);
    device_total_ms_ += ms;
    if (charged_[k] >= 0) rows_[charged_[k]].device_ms += ms;
  }
}

StepProfile StepProfiler::result() const {
  StepProfile p;
  p.device = device_.str();
  p.steps = steps_, p.batch_size = batch_size_;
  const double n = std::max<int64_t>(steps_, 1);
  p.step_ms = host_total_ms_ / n;
  p.device_step_ms = device_total_ms_ / n;
  p.launches_per_step = double(launches_) / n;
  p.blocking_calls_per_step = double(blocking_calls_) / n;
  for (ProfileRow row : rows_) {
    row.calls /= n, row.host_ms /= n, row.device_ms /= n;
    p.rows.push_back(row);
  }
  const bool gpu = device_.is_cuda();
  std::stable_sort(p.rows.begin(), p.rows.end(), [gpu](const ProfileRow& a, const ProfileRow& b) {
    return gpu ? a.device_ms > b.device_ms : a.host_ms > b.host_ms;
  });
  return p;
}

std::vector<ProfileRow> by_layer_type(const StepProfile& p) {
  std::map<std::pair<std::string, Pass>, ProfileRow> groups;
  for (const ProfileRow& r : p.rows) {
    ProfileRow& g = groups[{r.type, r.pass}];
    g.label = g.type = r.type, g.pass = r.pass;
    g.calls += r.calls, g.host_ms += r.host_ms, g.device_ms += r.device_ms;
  }
  std::vector<ProfileRow> out;
  for (auto& [key, row] : groups) out.push_back(row);
  const bool gpu = p.device_step_ms > 0;
  std::stable_sort(out.begin(), out.end(), [gpu](const ProfileRow& a, const ProfileRow& b) {
    return gpu ? a.device_ms > b.device_ms : a.host_ms > b.host_ms;
  });
  return out;
}

namespace {
// The rows under a header line, aligned, with each row's share of the step.
std::string format_rows(const StepProfile& p, const std::vector<ProfileRow>& rows,
                        const char* first_column) {
  const bool gpu = p.device_step_ms > 0;
  const double total = gpu ? p.device_step_ms : p.step_ms;
  size_t width = std::string(first_column).size();
  for (const ProfileRow& r : rows) width = std::max(width, r.label.size());
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %-8s  %6s  %10s  %s%6s\n", static_cast<int>(width),
                first_column, "pass", "calls", "host ms", gpu ? "    GPU ms  " : "", "%");
  out += line;
  for (const ProfileRow& r : rows) {
    char device_column[32] = "";
    if (gpu) std::snprintf(device_column, sizeof device_column, "%10.3f  ", r.device_ms);
    const double share = total > 0 ? 100 * (gpu ? r.device_ms : r.host_ms) / total : 0;
    std::snprintf(line, sizeof line, "%-*s  %-8s  %6.1f  %10.3f  %s%5.1f%%\n",
                  static_cast<int>(width), r.label.c_str(), pass_name(r.pass), r.calls, r.host_ms,
                  device_column, share);
    out += line;
  }
  return out;
}
}  // namespace

std::string format_profile(const StepProfile& p) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line,
                "step profile on %s: %lld steps of batch %lld, %.3f ms per step, %.0f images/s\n",
                p.device.c_str(), static_cast<long long>(p.steps),
                static_cast<long long>(p.batch_size), p.step_ms,
                p.step_ms > 0 ? p.batch_size * 1000.0 / p.step_ms : 0.0);
  out += line;
  if (p.device_step_ms > 0) {
    std::snprintf(line, sizeof line,
                  "GPU time per step %.3f ms (first to last event); %.1f kernel launches and "
                  "%.1f blocking CUDA calls per step\n",
                  p.device_step_ms, p.launches_per_step, p.blocking_calls_per_step);
    out += line;
  }
  out += format_rows(p, p.rows, "scope");
  out += "\nby layer type:\n";
  out += format_rows(p, by_layer_type(p), "type");
  return out;
}

nlohmann::json profile_json(const StepProfile& p) {
  const auto to_json = [&p](const std::vector<ProfileRow>& rows, const char* first) {
    nlohmann::json out = nlohmann::json::array();
    for (const ProfileRow& r : rows) {
      nlohmann::json row = {{first, r.label}, {"pass", pass_name(r.pass)},
                            {"calls_per_step", r.calls}, {"host_ms", r.host_ms}};
      if (p.device_step_ms > 0) row["gpu_ms"] = r.device_ms;
      out.push_back(row);
    }
    return out;
  };
  nlohmann::json out = {{"device", p.device},
                        {"steps", p.steps},
                        {"batch_size", p.batch_size},
                        {"step_ms", p.step_ms},
                        {"rows", to_json(p.rows, "scope")},
                        {"by_layer_type", to_json(by_layer_type(p), "type")}};
  if (p.device_step_ms > 0) {
    out["gpu_step_ms"] = p.device_step_ms;
    out["launches_per_step"] = p.launches_per_step;
    out["blocking_calls_per_step"] = p.blocking_calls_per_step;
  }
  return out;
}

}  // namespace danlu::train
