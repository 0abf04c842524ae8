// Per-step counts of blocking CUDA calls, and their summary.
#include "train/sync_report.h"

#include "engine/printf_string.h"
#include "engine/sync_check.h"

namespace danlu::train {

void SyncReport::begin_step() {
  before_ = blocking_cuda_calls();
  launches_before_ = kernel_launches();
}

nlohmann::json SyncReport::end_step(int64_t step, int64_t run_step, bool reads_back) {
  const int64_t calls = blocking_cuda_calls() - before_;
  const int64_t launches = kernel_launches() - launches_before_;
  const bool steady = run_step > kWarmupSteps && !reads_back;
  if (steady) {
    ++steady_steps_, steady_calls_ += calls;
    if (calls > 0 && first_blocking_step_ == 0) first_blocking_step_ = step;
  } else {
    ++other_steps_, other_calls_ += calls;
  }
  return {{"kind", "sync_check"}, {"step", step},          {"blocking_calls", calls},
          {"launches", launches},  {"reads_back", reads_back}, {"steady", steady}};
}

std::string SyncReport::summary() const {
  std::string text = printf_string(
      "sync check: %lld blocking CUDA calls in %lld steady-state steps (%lld warm-up or "
      "read-back steps: %lld calls)",
      static_cast<long long>(steady_calls_), static_cast<long long>(steady_steps_),
      static_cast<long long>(other_steps_), static_cast<long long>(other_calls_));
  if (first_blocking_step_ > 0)
    text += printf_string("; the first steady step that waited was step %lld (see metrics.jsonl)",
                          static_cast<long long>(first_blocking_step_));
  return text;
}

}  // namespace danlu::train
