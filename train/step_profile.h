// StepProfiler: where the time of a training step goes, layer by layer
// (`danlu train --profile N`). Installed as the thread's StepRecorder (see
// engine/profile.h), it charges every moment between begin_step() and
// end_step() to the innermost open scope: a layer's forward or backward, a
// phase of the loop, or "host work outside the scopes" for the rest. Host
// time comes from a steady clock; on a GPU a timing event is also recorded
// on the compute stream at every scope change, and the GPU time between two
// events is charged to the scope that was open between them. That GPU time
// includes the gaps where the GPU waited for the host, so a layer whose GPU
// time is close to its host time is bound by launches, not by its kernels.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/cuda_context.h"
#include "engine/device.h"
#include "engine/profile.h"
#include "layers/module.h"
#include "nlohmann/json.hpp"

namespace danlu::train {

// One row of the table: a scope and pass, its time per step.
struct ProfileRow {
  std::string label;  // "layer1.0.conv1 (Conv2d)", "data loading", ...
  std::string type;   // a layer's type ("Conv2d"); other scopes: the label
  Pass pass = Pass::other;
  double calls = 0;      // entries per step
  double host_ms = 0;    // host wall time per step
  double device_ms = 0;  // GPU time per step (GPU runs only)
};

struct StepProfile {
  std::string device;          // "cpu", "cuda:0"
  int64_t steps = 0, batch_size = 0;
  double step_ms = 0;          // host wall time per step
  double device_step_ms = 0;   // GPU time per step, first to last event (GPU runs only)
  // Per step, GPU runs only (engine/sync_check.h): kernel launches, and CUDA
  // calls that made the host wait for the GPU inside the step.
  double launches_per_step = 0, blocking_calls_per_step = 0;
  std::vector<ProfileRow> rows;  // most time first
};

class StepProfiler : public StepRecorder {
 public:
  // Labels every module of `model` by its dotted path and type.
  StepProfiler(const nn::Module& model, Device device, int64_t batch_size);

  void begin_step();
  void end_step();  // waits for the GPU, then charges the step's events
  StepProfile result() const;

  void enter(const std::string& label, Pass pass) override;
  void leave() override;
  const std::string* layer_label(const void* module) const override;

 private:
  using Clock = std::chrono::steady_clock;
  int row_of(const std::string& label, Pass pass);
  void switch_scope();  // charges the time since the last change to the open scope

  Device device_;
  int64_t batch_size_;
  std::unordered_map<const void*, std::unique_ptr<std::string>> labels_;
  std::unordered_map<std::string, std::string> types_;  // layer label -> type
  std::map<std::pair<std::string, Pass>, int> index_;
  std::vector<ProfileRow> rows_;  // totals over the steps so far
  std::vector<int> open_;         // row indices, innermost last
  Clock::time_point last_switch_, step_start_;
  double host_total_ms_ = 0, device_total_ms_ = 0;
  int64_t launches_at_start_ = 0, blocking_at_start_ = 0;  // the counts when the step began
  int64_t launches_ = 0, blocking_calls_ = 0;              // summed over the steps
  int64_t steps_ = 0;
  // GPU: events_[k] marks scope change k of the current step; charged_[k]
  // is the row that was open between event k-1 and event k.
  std::vector<CudaEvent> events_;
  std::vector<int> charged_;
  size_t used_events_ = 0;
};

const char* pass_name(Pass pass);
// The rows summed per layer type and pass ("Conv2d", backward); scopes that
// are not layers stay as they are. Most time first.
std::vector<ProfileRow> by_layer_type(const StepProfile& profile);
// The aligned table `danlu train --profile` prints.
std::string format_profile(const StepProfile& profile);
nlohmann::json profile_json(const StepProfile& profile);

}  // namespace danlu::train
