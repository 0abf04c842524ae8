// CUDA Graphs: the work one thread enqueues on a device's compute stream,
// captured once and launched again with one call. A captured step costs the
// host one launch instead of one per kernel; nothing in it runs on the host.
//
// While a GraphCapture is alive on a thread, for its device:
//  - new tensors get their memory from the capture's arena
//    (engine/device_arena.h), reserved before the capture began, because no
//    CUDA allocation call may run inside one; the same addresses are used at
//    every launch, and a tensor that outlives the capture (a gradient, the
//    loss) keeps its part of the arena;
//  - memory allocated before the capture whose last tensor goes away during
//    it stays allocated as long as the graph, which may still read it;
//  - host state that the captured work changes (a BatchNorm layer's batch
//    counter, a random generator's offset) is registered as a HostEffect:
//    each launch after the first redoes it, and an abandoned capture undoes
//    it, so the host state always says how many steps really ran;
//  - anything that cannot be captured refuses it (refuse_capture), and the
//    caller runs the work without a graph.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/error.h"

namespace danlu {

class DeviceArena;
class Generator;

// Why work cannot be captured. `arena_full`: only the reserved memory was
// too small, and a capture with more may succeed.
class CaptureRefused : public Error {
 public:
  CaptureRefused(const std::string& reason, bool arena_full)
      : Error(reason), arena_full(arena_full) {}
  bool arena_full;
};

// Host state the captured work changed: `redo` changes it again before each
// launch after the first (and may enqueue small device updates, such as a
// new value for a device scalar the graph reads), `undo` reverts the change
// when the capture is abandoned, `replayable` (optional) says whether a
// launch would still do what running the work again would.
struct HostEffect {
  std::function<void()> redo, undo;
  std::function<bool()> replayable;
};

// A captured, instantiated graph.
class CudaGraph {
 public:
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Whether every host effect can still be replayed.
  bool replayable() const;
  // Redoes the host effects (from the second launch on), then launches the
  // graph on the compute stream. Counts as one kernel launch.
  void launch();

  int64_t kernels() const { return kernels_; }  // kernel launches captured
  size_t arena_bytes() const;                   // memory reserved for it
  size_t arena_peak() const;                    // of which its work used at most

 private:
  friend class GraphCapture;
  CudaGraph() = default;
  Device device_;
  void* exec_ = nullptr;  // cudaGraphExec_t
  std::shared_ptr<DeviceArena> arena_;
  std::vector<void*> kept_;  // freed during the capture: released with the graph
  std::vector<HostEffect> effects_;
  int64_t kernels_ = 0;
  int64_t launches_ = 0;
};

// The capture under way on this thread (see the file comment).
class GraphCapture {
 public:
  // Reserves `arena_bytes` on `device`, then starts capturing its compute
  // stream (thread-local mode: other threads, such as the data loader's, go
  // on using the GPU). Throws danlu::Error without the CUDA backend.
  GraphCapture(Device device, size_t arena_bytes);
  // An unfinished capture is ended, its recording dropped and its host
  // effects undone, in reverse order.
  ~GraphCapture();
  GraphCapture(const GraphCapture&) = delete;
  GraphCapture& operator=(const GraphCapture&) = delete;

  // Ends the capture and instantiates the graph. Throws CaptureRefused when
  // the capture failed (the work made a call that cannot be captured).
  std::unique_ptr<CudaGraph> finish();

  // The capture on this thread for `device`, or null.
  static GraphCapture* active(Device device);

  Device device() const { return graph_->device_; }
  const std::shared_ptr<DeviceArena>& arena() const { return graph_->arena_; }
  void keep(void* data) { graph_->kept_.push_back(data); }
  void add_effect(HostEffect effect) { graph_->effects_.push_back(std::move(effect)); }
  // reserve_philox() below, for this capture.
  struct PhiloxOffset reserve_philox(Generator& generator, uint64_t words);

 private:
  struct PhiloxStream;
  std::unique_ptr<CudaGraph> graph_;
  std::vector<std::shared_ptr<PhiloxStream>> philox_;
  void* stream_ = nullptr;  // the compute stream being captured
  int64_t launches_before_ = 0;
  bool ended_ = false, finished_ = false;
};

// What engine code calls while work may be being captured; each does nothing
// (or returns null) when this thread is not capturing on `device`.

// Throws CaptureRefused(reason) while capturing on `device`.
void refuse_capture(Device device, const std::string& reason);
// Registers `effect` with the capture on `device`.
void add_capture_effect(Device device, HostEffect effect);
// The arena new device memory on `device` comes from.
std::shared_ptr<DeviceArena> capture_arena(Device device);
// Keeps `data` (allocated before the capture) until the graph is destroyed;
// true when it did, and the caller must not free it.
bool keep_for_capture(void* data, Device device);

// Where a kernel finds the Philox offset of a draw of `words` words from
// `generator` (which this reserves): outside a capture {null, offset}; in a
// capture, `*base` holds at every launch the generator's offset when that
// launch's step began, and the draw starts `offset` words after it.
struct PhiloxOffset {
  const uint64_t* base = nullptr;
  uint64_t offset = 0;
};
PhiloxOffset reserve_philox(Generator& generator, uint64_t words, Device device);

}  // namespace danlu
