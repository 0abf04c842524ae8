// Streams, events, stream capture and graphs of the emulated runtime. Work
// completes inside the call that enqueues it, so a stream is only a handle,
// until it captures: then its work is kept in order in a graph, and each
// launch of the instantiated graph runs that work again, in that order.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "kernels/emulated/blocking_calls.h"
#include "kernels/emulated/capture.h"

struct CUgraph_st {
  std::vector<std::function<void()>> work;
};

struct CUgraphExec_st {
  std::vector<std::function<void()>> work;
};

struct CUstream_st {
  unsigned flags = 0;
  cudaGraph_t capture = nullptr;  // the graph being recorded, while capturing
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  bool invalidated = false;
};

struct CUevent_st {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point when{};
};

namespace {

// Calls that would block the host on a GPU (kernels/emulated/blocking_calls.h).
std::atomic<int64_t> g_blocking_calls{0};

// The captures that forbid a blocking call on this thread: those it started
// (global or thread-local mode), and every thread's global-mode capture.
thread_local std::set<cudaStream_t> t_captures;
std::mutex g_mutex;
std::set<cudaStream_t> g_global_captures;

// Invalidates every capture the calling thread may not make an unsafe call
// under; true when there was one.
bool invalidate_forbidding_captures() {
  std::lock_guard lock(g_mutex);
  bool any = false;
  for (cudaStream_t s : t_captures) s->invalidated = any = true;
  for (cudaStream_t s : g_global_captures) s->invalidated = any = true;
  return any;
}

void end_capture_bookkeeping(cudaStream_t stream) {
  std::lock_guard lock(g_mutex);
  t_captures.erase(stream);
  g_global_captures.erase(stream);
}

}  // namespace

namespace danlu::emu {

cudaError_t blocking_call() {
  if (invalidate_forbidding_captures()) return fail(cudaErrorStreamCaptureUnsupported);
  ++g_blocking_calls;
  return cudaSuccess;
}

int64_t blocking_calls() { return g_blocking_calls.load(); }

cudaError_t submit(cudaStream_t stream, std::function<void()> work) {
  if (!stream) {
    if (invalidate_forbidding_captures()) return fail(cudaErrorStreamCaptureImplicit);
  } else if (stream->capture) {
    if (stream->invalidated) return fail(cudaErrorStreamCaptureInvalidated);
    stream->capture->work.push_back(std::move(work));
    return cudaSuccess;
  }
  work();
  return cudaSuccess;
}

bool is_capturing(cudaStream_t stream) { return stream && stream->capture; }

cudaError_t refuse_in_capture(cudaStream_t stream, cudaError_t error) {
  stream->invalidated = true;
  return fail(error);
}

}  // namespace danlu::emu

using danlu::emu::blocking_call;
using danlu::emu::fail;

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (!stream) return fail(cudaErrorInvalidValue);
  *stream = new CUstream_st{flags};
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream) return fail(cudaErrorInvalidResourceHandle);
  if (stream->capture) return fail(cudaErrorStreamCaptureUnsupported);
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return blocking_call(); }

// A capturing stream's progress cannot be queried, as on a GPU.
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  if (stream && stream->capture)
    return danlu::emu::refuse_in_capture(stream, cudaErrorStreamCaptureUnsupported);
  return cudaSuccess;
}

// Work runs in issue order, so a wait has nothing to wait for (and inside a
// capture nothing to add to the graph's order).
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t event, unsigned int) {
  return event ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  if (!stream) return fail(cudaErrorStreamCaptureUnsupported);  // the legacy stream cannot
  if (stream->capture) return fail(cudaErrorStreamCaptureUnsupported);
  stream->capture = new CUgraph_st;
  stream->mode = mode;
  stream->invalidated = false;
  std::lock_guard lock(g_mutex);
  if (mode != cudaStreamCaptureModeRelaxed) t_captures.insert(stream);
  if (mode == cudaStreamCaptureModeGlobal) g_global_captures.insert(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!stream || !graph) return fail(cudaErrorInvalidValue);
  if (!stream->capture) return fail(cudaErrorInvalidValue);
  if (stream->mode != cudaStreamCaptureModeRelaxed && !t_captures.count(stream))
    return fail(cudaErrorStreamCaptureWrongThread);
  end_capture_bookkeeping(stream);
  cudaGraph_t recorded = std::exchange(stream->capture, nullptr);
  if (stream->invalidated) {
    delete recorded;
    *graph = nullptr;
    return fail(cudaErrorStreamCaptureInvalidated);
  }
  *graph = recorded;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  if (!status) return fail(cudaErrorInvalidValue);
  *status = !stream || !stream->capture ? cudaStreamCaptureStatusNone
            : stream->invalidated       ? cudaStreamCaptureStatusInvalidated
                                        : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!exec || !graph) return fail(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->work};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!exec) return fail(cudaErrorInvalidResourceHandle);
  return danlu::emu::submit(stream, [exec] {
    for (const std::function<void()>& work : exec->work) work();
  });
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  if (!exec) return fail(cudaErrorInvalidResourceHandle);
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  if (!graph) return fail(cudaErrorInvalidResourceHandle);
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (!event) return fail(cudaErrorInvalidValue);
  *event = new CUevent_st{flags, false, {}};
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  delete event;
  return cudaSuccess;
}

// The record happens when the stream reaches it: now, or at each launch of
// the graph it was captured into.
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  return danlu::emu::submit(stream, [event] {
    event->recorded = true;
    event->when = std::chrono::steady_clock::now();
  });
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  return blocking_call();
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  return event ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

// Host time between the two records: the emulator's, not a GPU's.
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return fail(cudaErrorInvalidValue);
  if (!start || !end || !start->recorded || !end->recorded ||
      ((start->flags | end->flags) & cudaEventDisableTiming))
    return fail(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}
