// Reusing a buffer whose copy was queued long ago: wait for the copy's event
// only when it has not completed. The query spares the host a blocking call
// (engine/sync_check.h) in the usual case; a wait is then back-pressure on a
// host running ahead of a busy GPU, not a read-back.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/cuda/check.h"

namespace danlu::kernels::cuda {

inline void synchronize_if_pending(cudaEvent_t event) {
  const cudaError_t status = cudaEventQuery(event);
  if (status == cudaErrorNotReady)
    DANLU_CUDA_CHECK(cudaEventSynchronize(event));
  else
    DANLU_CUDA_CHECK(status);
}

}  // namespace danlu::kernels::cuda
