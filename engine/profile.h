// Two ways to see where a step's time goes.
//
// NVTX ranges: named spans of host time that Nsight Systems draws above the
// GPU work launched inside them, so a profile reads as "forward > conv2d"
// rather than a wall of kernel names. Each op opens one range at its entry
// (DANLU_OP_RANGE), autograd one per backward node, and the training loop one
// per phase (PhaseRange). Without the CUDA backend all of it compiles to
// nothing; with it and no profiler attached, each range costs a few
// nanoseconds (NVTX calls return at once when no tool is loaded).
//
// Step profiles (`danlu train --profile N`): a StepRecorder installed on the
// thread is told which labelled scope the running work belongs to: a layer's
// forward (Module::operator()), the same layer's backward (each autograd node
// remembers the layer that recorded it), the phases of the loop. Scopes nest
// and time is charged to the innermost open one, so the table adds up to the
// step. With no recorder installed, each hook is one test of a null pointer.
#pragma once

#include <string>

#ifdef DANLU_WITH_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace danlu {

class NvtxRange {
 public:
  explicit NvtxRange(const char* name) {
#ifdef DANLU_WITH_CUDA
    nvtxRangePushA(name);
#else
    (void)name;
#endif
  }
  explicit NvtxRange(const std::string& name) : NvtxRange(name.c_str()) {}
  ~NvtxRange() {
#ifdef DANLU_WITH_CUDA
    nvtxRangePop();
#endif
  }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;

 protected:
  NvtxRange() = default;  // for subclasses that push their own range
};

// ---- step profiles ---------------------------------------------------------------

// Which pass a scope's time belongs to in the profile table.
enum class Pass { forward, backward, other };

class StepRecorder {
 public:
  virtual ~StepRecorder() = default;
  // Work from now on belongs to `label` in `pass` until the matching leave().
  virtual void enter(const std::string& label, Pass pass) = 0;
  virtual void leave() = 0;
  // The label a layer is shown under ("layer1.0.conv1 (Conv2d)"), owned by
  // the recorder; null for a module it does not know.
  virtual const std::string* layer_label(const void* module) const = 0;
};

// The recorder installed on this thread; null when not profiling.
StepRecorder* step_recorder();

// Installs a recorder on this thread for its scope.
class StepRecorderGuard {
 public:
  explicit StepRecorderGuard(StepRecorder* recorder);
  ~StepRecorderGuard();
  StepRecorderGuard(const StepRecorderGuard&) = delete;
  StepRecorderGuard& operator=(const StepRecorderGuard&) = delete;

 private:
  StepRecorder* previous_;
};

// The label of `module` in the installed recorder; null when none is installed.
const std::string* layer_label(const void* module);

// The innermost forward-pass scope open on this thread (null outside
// profiling): autograd nodes keep it, so their backward is charged to the
// layer that recorded them.
const std::string* current_layer_label();

// One scope of the step profile; does nothing when `label` is null or no
// recorder is installed.
class ProfileScope {
 public:
  ProfileScope(const std::string* label, Pass pass);
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  StepRecorder* recorder_ = nullptr;
  const std::string* previous_layer_ = nullptr;
  bool sets_layer_ = false;
};

// ---- phases of the training loop -------------------------------------------------

// The phases of a training step; each gets its own colour in the timeline
// and its own row in a step profile (the phase's time outside any layer).
enum class Phase { data, forward, backward, optimizer };

inline const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::data: return "data";
    case Phase::forward: return "forward";
    case Phase::backward: return "backward";
    case Phase::optimizer: return "optimizer";
  }
  return "?";
}

// The step-profile label of each phase's own time.
const std::string* phase_label(Phase phase);

inline Pass phase_pass(Phase phase) {
  switch (phase) {
    case Phase::forward: return Pass::forward;
    case Phase::backward: return Pass::backward;
    default: return Pass::other;
  }
}

// A coloured range around one phase:  { PhaseRange r(Phase::forward); loss = ...; }
class PhaseRange : public NvtxRange {
 public:
  explicit PhaseRange(Phase phase) : scope_(phase_label(phase), phase_pass(phase)) {
#ifdef DANLU_WITH_CUDA
    static constexpr unsigned kColours[] = {0xFF9E9E9E, 0xFF4CAF50, 0xFFE53935, 0xFF1E88E5};
    nvtxEventAttributes_t attributes{};
    attributes.version = NVTX_VERSION;
    attributes.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    attributes.colorType = NVTX_COLOR_ARGB;
    attributes.color = kColours[static_cast<int>(phase)];
    attributes.messageType = NVTX_MESSAGE_TYPE_ASCII;
    attributes.message.ascii = phase_name(phase);
    nvtxRangePushEx(&attributes);
#endif
  }

 private:
  ProfileScope scope_;
};

}  // namespace danlu

// The first line of an op: DANLU_OP_RANGE("conv2d"); one range for its scope.
#define DANLU_OP_RANGE(name) const ::danlu::NvtxRange danlu_op_range_(name)
