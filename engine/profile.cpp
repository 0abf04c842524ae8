// The thread-local state behind step profiles: the installed recorder and
// the innermost layer whose forward is running.
#include "engine/profile.h"

namespace danlu {

namespace {
thread_local StepRecorder* installed_recorder = nullptr;
thread_local const std::string* innermost_layer = nullptr;
}  // namespace

StepRecorder* step_recorder() { return installed_recorder; }

StepRecorderGuard::StepRecorderGuard(StepRecorder* recorder) : previous_(installed_recorder) {
  installed_recorder = recorder;
}
StepRecorderGuard::~StepRecorderGuard() { installed_recorder = previous_; }

const std::string* layer_label(const void* module) {
  return installed_recorder ? installed_recorder->layer_label(module) : nullptr;
}

const std::string* current_layer_label() { return innermost_layer; }

ProfileScope::ProfileScope(const std::string* label, Pass pass) {
  if (!label || !installed_recorder) return;
  recorder_ = installed_recorder;
  recorder_->enter(*label, pass);
  if (pass == Pass::forward) {
    sets_layer_ = true;
    previous_layer_ = innermost_layer;
    innermost_layer = label;
  }
}

ProfileScope::~ProfileScope() {
  if (!recorder_) return;
  if (sets_layer_) innermost_layer = previous_layer_;
  recorder_->leave();
}

const std::string* phase_label(Phase phase) {
  static const std::string labels[] = {
      "data loading", "loss and work outside layers",
      "autograd outside nodes (zero_grad, gradient sums)",
      "optimizer (clipping, update, scheduler)"};
  return &labels[static_cast<int>(phase)];
}

}  // namespace danlu
