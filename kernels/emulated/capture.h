// Stream capture in the emulated runtime (kernels/emulated/streams.cpp): how
// the other emulated calls enqueue work, and how a call that would block the
// host on a GPU is refused while a capture is under way. On a GPU, work on a
// capturing stream is recorded into a graph instead of running, and a call
// that could synchronise (cudaMalloc, cudaStreamSynchronize, a synchronous
// copy, ...) fails with cudaErrorStreamCaptureUnsupported and invalidates the
// capture; the emulator does the same, so a training step that hides such a
// call cannot be captured here either.
#pragma once

#include <functional>

#include "kernels/emulated/include/cuda_runtime_api.h"

namespace danlu::emu {

// Records `error` as the calling thread's last error (cudaGetLastError) and
// returns it.
cudaError_t fail(cudaError_t error);

// Call first in every runtime function that blocks the host on a GPU. While
// a capture that forbids it is under way (one this thread started, or any in
// cudaStreamCaptureModeGlobal) it invalidates those captures and returns
// cudaErrorStreamCaptureUnsupported; otherwise it counts the call
// (blocking_calls.h) and returns cudaSuccess.
cudaError_t blocking_call();

// Runs `work` now, or, when `stream` is capturing, appends it to the graph
// being recorded. The legacy default stream (null) while this thread
// captures fails with cudaErrorStreamCaptureImplicit, and work for an
// invalidated capture with cudaErrorStreamCaptureInvalidated.
cudaError_t submit(cudaStream_t stream, std::function<void()> work);

// Whether `stream` is capturing (null: the legacy stream, never).
bool is_capturing(cudaStream_t stream);

// Invalidates `stream`'s capture and returns `error` as a failure: for calls
// a capturing stream cannot take (cudaMallocAsync here: the emulator does not
// model graph memory nodes).
cudaError_t refuse_in_capture(cudaStream_t stream, cudaError_t error);

}  // namespace danlu::emu
