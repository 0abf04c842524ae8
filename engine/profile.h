// NVTX ranges: named spans of host time that Nsight Systems draws above the
// GPU work launched inside them, so a profile reads as "forward > conv2d"
// rather than a wall of kernel names. Each op opens one range at its entry
// (DANLU_OP_RANGE), autograd one per backward node, and the training loop one
// per phase (PhaseRange). Without the CUDA backend all of it compiles to
// nothing; with it and no profiler attached, each range costs a few
// nanoseconds (NVTX calls return at once when no tool is loaded).
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

// The phases of a training step; each gets its own colour in the timeline.
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

// A coloured range around one phase:  { PhaseRange r(Phase::forward); loss = ...; }
class PhaseRange : public NvtxRange {
 public:
  explicit PhaseRange(Phase phase) {
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
#else
    (void)phase;
#endif
  }
};

}  // namespace danlu

// The first line of an op: DANLU_OP_RANGE("conv2d"); one range for its scope.
#define DANLU_OP_RANGE(name) const ::danlu::NvtxRange danlu_op_range_(name)
