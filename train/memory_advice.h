// Out of memory while training. The allocator names the request that failed;
// this adds what the model itself takes (weights, gradients, optimizer state)
// beside the device's memory, so the message can say whether a smaller batch
// helps or the model cannot fit on the device at all.
#pragma once

#include <cstdint>
#include <string>

#include "engine/device.h"
#include "engine/error.h"
#include "layers/module.h"
#include "optim/optimizer.h"

namespace danlu::train {

struct ModelMemory {
  int64_t parameters = 0;
  uint64_t weights = 0;          // every parameter and buffer
  uint64_t gradients = 0;        // one per trainable parameter
  uint64_t optimizer_state = 0;  // the buffers the optimizer holds so far
  uint64_t total() const { return weights + gradients + optimizer_state; }
};

ModelMemory model_memory(const nn::Module& model, const optim::Optimizer* optimizer);

// The memory `device` has: a GPU's total, the host's physical memory, or the
// host memory cap when one is set (engine/host_memory.h).
uint64_t device_memory(Device device);

// e's message, then the model's share of the device and the fix: a smaller
// model when the model alone fills the device, else a smaller batch.
std::string explain_out_of_memory(const OutOfMemory& e, const ModelMemory& model, Device device,
                                  int64_t batch_size);

// Runs f(); an OutOfMemory it throws comes back explained by
// explain_out_of_memory for this model and optimizer, still an OutOfMemory
// so that `danlu batch-find` can stop its search at it.
template <class F>
decltype(auto) explain_out_of_memory_in(const nn::Module& model, const optim::Optimizer* optimizer,
                                        Device device, int64_t batch_size, F&& f) {
  try {
    return f();
  } catch (const OutOfMemory& e) {
    throw OutOfMemory(explain_out_of_memory(e, model_memory(model, optimizer), device, batch_size));
  }
}

}  // namespace danlu::train
