// Capturing a device's compute stream into a CUDA Graph, and what the rest of
// the engine asks of a capture under way (cuda_graph.h).
#include "engine/cuda_graph.h"

#include <algorithm>

#include "engine/cuda_context.h"
#include "engine/cuda_memory.h"
#include "engine/device_arena.h"
#include "engine/random.h"
#include "engine/sync_check.h"

#ifdef DANLU_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/arrival_counters.h"
#include "kernels/cuda/check.h"
#include "kernels/fill.h"
#endif

namespace danlu {

namespace {
thread_local GraphCapture* t_active = nullptr;
}  // namespace

// A generator drawn from during the capture: the device scalar its draws are
// offset from, and what the captured step consumed.
struct GraphCapture::PhiloxStream {
  Generator* generator;
  uint64_t seed, start;  // the generator's state when the capture first drew
  uint64_t consumed = 0;
  uint64_t* base;        // device: the offset the current launch's step starts at
};

size_t CudaGraph::arena_bytes() const { return arena_->capacity(); }
size_t CudaGraph::arena_peak() const { return arena_->peak(); }

bool CudaGraph::replayable() const {
  return std::all_of(effects_.begin(), effects_.end(),
                     [](const HostEffect& e) { return !e.replayable || e.replayable(); });
}

GraphCapture* GraphCapture::active(Device device) {
  return t_active && t_active->device() == device ? t_active : nullptr;
}

void refuse_capture(Device device, const std::string& reason) {
  if (GraphCapture::active(device)) throw CaptureRefused(reason, false);
}

void add_capture_effect(Device device, HostEffect effect) {
  if (GraphCapture* c = GraphCapture::active(device)) c->add_effect(std::move(effect));
}

std::shared_ptr<DeviceArena> capture_arena(Device device) {
  GraphCapture* c = GraphCapture::active(device);
  return c ? c->arena() : nullptr;
}

bool keep_for_capture(void* data, Device device) {
  GraphCapture* c = GraphCapture::active(device);
  if (c) c->keep(data);
  return c != nullptr;
}

PhiloxOffset reserve_philox(Generator& generator, uint64_t words, Device device) {
  if (GraphCapture* c = GraphCapture::active(device)) return c->reserve_philox(generator, words);
  return {nullptr, generator.reserve(words)};
}

#ifdef DANLU_WITH_CUDA

CudaGraph::~CudaGraph() {
  // The last launch may still run: let it finish before its memory goes.
  if (exec_) {
    cudaStreamSynchronize(compute_stream(device_));
    cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  }
  for (void* data : kept_) cuda_free(data, device_);
}

void CudaGraph::launch() {
  if (launches_++ > 0)
    for (HostEffect& e : effects_) e.redo();
  count_kernel_launch();
  DANLU_CUDA_CHECK(
      cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), compute_stream(device_)));
}

GraphCapture::GraphCapture(Device device, size_t arena_bytes) : graph_(new CudaGraph) {
  DANLU_CHECK(!t_active, "a CUDA graph capture is already under way on this thread");
  graph_->device_ = device;
  graph_->arena_ = std::make_shared<DeviceArena>(device, arena_bytes);
  stream_ = compute_stream(device);
  kernels::cuda::arrival_counters(kernels::cuda::kArrivalCountersAtStart,
                                  static_cast<kernels::Stream>(stream_));
  DANLU_CUDA_CHECK(cudaStreamBeginCapture(static_cast<cudaStream_t>(stream_),
                                          cudaStreamCaptureModeThreadLocal));
  t_active = this;
  launches_before_ = kernel_launches();
}

GraphCapture::~GraphCapture() {
  if (finished_) return;
  if (!ended_) {
    t_active = nullptr;
    cudaGraph_t recorded = nullptr;
    cudaStreamEndCapture(static_cast<cudaStream_t>(stream_), &recorded);
    if (recorded) cudaGraphDestroy(recorded);
    cudaGetLastError();  // the capture's failure is not the next call's
  }
  for (auto e = graph_->effects_.rbegin(); e != graph_->effects_.rend(); ++e) e->undo();
}

std::unique_ptr<CudaGraph> GraphCapture::finish() {
  t_active = nullptr;
  ended_ = true;
  cudaGraph_t recorded = nullptr;
  const cudaError_t status = cudaStreamEndCapture(static_cast<cudaStream_t>(stream_), &recorded);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw CaptureRefused(detail::concat("the step made a CUDA call that cannot be captured (",
                                        cudaGetErrorName(status), ")"),
                         false);
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t instantiated = cudaGraphInstantiate(&exec, recorded, 0);
  cudaGraphDestroy(recorded);
  DANLU_CUDA_CHECK(instantiated);
  graph_->exec_ = exec;
  graph_->kernels_ = kernel_launches() - launches_before_;
  // The first launch runs the captured step itself: its draws start where
  // the generators stood when the capture began.
  for (const auto& p : philox_) {
    p->consumed = p->generator->offset() - p->start;
    kernels::cuda::fill64(p->base, 1, p->start, static_cast<kernels::Stream>(stream_));
  }
  finished_ = true;
  return std::move(graph_);
}

PhiloxOffset GraphCapture::reserve_philox(Generator& generator, uint64_t words) {
  auto it = std::find_if(philox_.begin(), philox_.end(),
                         [&](const auto& p) { return p->generator == &generator; });
  if (it == philox_.end()) {
    void* base = arena()->allocate(sizeof(uint64_t));
    if (!base) throw CaptureRefused("no memory left in the capture's arena", true);
    auto p = std::make_shared<PhiloxStream>(PhiloxStream{&generator, generator.seed(),
                                                         generator.offset(), 0,
                                                         static_cast<uint64_t*>(base)});
    const Device device = this->device();
    // Each later launch: its step starts at the generator's offset now, and
    // uses up what the captured step did.
    add_effect({[p, device] {
                  Generator& g = *p->generator;
                  kernels::cuda::fill64(p->base, 1, g.offset(), compute_stream(device));
                  g.set_state(g.seed(), g.offset() + p->consumed);
                },
                [p] { p->generator->set_state(p->seed, p->start); },
                [p] { return p->generator->seed() == p->seed; }});
    philox_.push_back(p);
    it = std::prev(philox_.end());
  }
  const uint64_t offset = generator.reserve(words);
  return {(*it)->base, offset - (*it)->start};
}

#else  // a CPU-only build: there is nothing to capture

CudaGraph::~CudaGraph() = default;
void CudaGraph::launch() { DANLU_FAIL("CUDA graphs need a build with the CUDA backend"); }
GraphCapture::GraphCapture(Device, size_t) {
  DANLU_FAIL("CUDA graphs need a build with the CUDA backend");
}
GraphCapture::~GraphCapture() = default;
std::unique_ptr<CudaGraph> GraphCapture::finish() { return nullptr; }
PhiloxOffset GraphCapture::reserve_philox(Generator& generator, uint64_t words) {
  return {nullptr, generator.reserve(words)};
}

#endif

}  // namespace danlu
