#include "train/memory_advice.h"

#include <sstream>

#include "engine/cuda_memory.h"
#include "engine/host_memory.h"

namespace danlu::train {

namespace {
// "1.23 GiB": the short form for the breakdown (the request keeps exact bytes).
std::string gib(uint64_t bytes) {
  std::ostringstream out;
  out.precision(bytes < (uint64_t{1} << 30) ? 3 : 4);
  out << static_cast<double>(bytes) / double(uint64_t{1} << 30) << " GiB";
  return out.str();
}
}  // namespace

ModelMemory model_memory(const nn::Module& model, const optim::Optimizer* optimizer) {
  ModelMemory m;
  for (const auto& [name, t] : model.state_dict()) m.weights += uint64_t(t.numel()) * element_size(t.dtype());
  for (const Tensor& p : model.parameters()) {
    m.parameters += p.numel();
    if (p.requires_grad()) m.gradients += uint64_t(p.numel()) * element_size(p.dtype());
  }
  if (optimizer) m.optimizer_state = optimizer->state_bytes();
  return m;
}

uint64_t device_memory(Device device) {
  if (device.is_cuda()) {
    for (const CudaDeviceInfo& d : cuda_devices())
      if (d.index == device.index) return d.total_memory_bytes;
    return 0;
  }
  const HostMemoryStats host = host_memory_stats();
  return host.limit ? host.limit : host.total;
}

std::string explain_out_of_memory(const OutOfMemory& e, const ModelMemory& model, Device device,
                                  int64_t batch_size) {
  const uint64_t total = device_memory(device);
  std::ostringstream out;
  out << e.what() << "; the model takes " << gib(model.total()) << " (" << model.parameters
      << " parameters: weights " << gib(model.weights) << ", gradients " << gib(model.gradients)
      << ", optimizer state " << gib(model.optimizer_state) << ") of " << device.str() << "'s "
      << gib(total);
  if (total > 0 && model.total() >= total)
    out << ": it cannot train on this device at any batch size; use a smaller model";
  else if (total > 0 && model.total() >= total / 2)
    out << ": the model alone fills most of it, so a smaller batch_size (now " << batch_size
        << ") helps little; use a smaller model";
  else
    out << ", so the activations for a batch of " << batch_size
        << " need the rest; lower batch_size";
  return out.str();
}

}  // namespace danlu::train
