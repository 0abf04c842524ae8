// <cuda_runtime.h> of the emulated build: the runtime API plus what kernel
// code uses (qualifiers, built-ins, collectives, atomics, math intrinsics),
// all implemented on the host by kernels/emulated. See docs/emulation.md.
#pragma once

#include "cuda_runtime_api.h"
#include "kernels/emulated/atomics.h"
#include "kernels/emulated/builtins.h"
#include "kernels/emulated/intrinsics.h"
#include "kernels/emulated/qualifiers.h"
