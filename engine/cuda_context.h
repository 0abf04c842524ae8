// The per-device CUDA state ops run on: the compute stream of each device.
// Every op enqueues its kernels on compute_stream(tensor.device()); nothing in
// the default path synchronises the host.
#pragma once

#include "engine/device.h"
#include "kernels/stream.h"

namespace danlu {

// The stream every op on `device` (a CUDA device) runs its kernels on.
kernels::Stream compute_stream(Device device);

}  // namespace danlu
