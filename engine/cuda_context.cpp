// compute_stream: the legacy default stream for now, one per device.
#include "engine/cuda_context.h"

namespace danlu {

kernels::Stream compute_stream(Device) { return nullptr; }

}  // namespace danlu
