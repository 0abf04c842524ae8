// run_grid: the emulated launch. Checks the configuration against the
// device's limits (device_limits.h), then runs the blocks one after another
// on the calling host thread. Launches are serialised by one lock, which is
// what lets __shared__ variables be plain statics (qualifiers.h).
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "engine/error.h"
#include "kernels/emulated/device_limits.h"
#include "kernels/emulated/include/cuda_runtime_api.h"
#include "kernels/emulated/launch.h"
#include "kernels/emulated/scheduler.h"

namespace danlu::emu {

namespace {

std::mutex& launch_mutex() {
  static std::mutex m;
  return m;
}

// Dynamic shared memory limits raised by cudaFuncSetAttribute, per kernel.
std::map<const void*, size_t>& shared_limits() {
  static std::map<const void*, size_t> limits;
  return limits;
}

void check_configuration(const Launch& l) {
  const unsigned block[3] = {l.block.x, l.block.y, l.block.z};
  const unsigned grid[3] = {l.grid.x, l.grid.y, l.grid.z};
  const unsigned long long threads = 1ull * l.block.x * l.block.y * l.block.z;
  bool ok = threads >= 1 && threads <= kMaxThreadsPerBlock;
  for (int d = 0; d < 3; ++d) ok = ok && block[d] <= kMaxBlockDim[d] && grid[d] <= kMaxGridDim[d];
  DANLU_CHECK(ok, "CUDA emulator: kernel ", l.name, ": invalid configuration: grid (", l.grid.x,
              ",", l.grid.y, ",", l.grid.z, ") of blocks (", l.block.x, ",", l.block.y, ",",
              l.block.z, "); a block has at most ", kMaxThreadsPerBlock, " threads (x, y <= ",
              kMaxBlockDim[0], ", z <= ", kMaxBlockDim[2], "), a grid y and z <= ",
              kMaxGridDim[1]);
  size_t limit = kDefaultSharedPerBlock;
  {
    auto it = shared_limits().find(l.kernel);
    if (it != shared_limits().end()) limit = it->second;
  }
  DANLU_CHECK(l.shared_bytes <= limit, "CUDA emulator: kernel ", l.name, ": asks for ",
              l.shared_bytes, " bytes of dynamic shared memory per block, above its limit of ",
              limit, " (", kDefaultSharedPerBlock,
              " unless raised with cudaFuncSetAttribute(cudaFuncAttributeMaxDynamicSharedMemorySize)"
              ", at most ",
              kMaxSharedPerBlockOptin, ")");
}

}  // namespace

void run_grid(const Launch& l) {
  std::lock_guard lock(launch_mutex());
  check_configuration(l);
  // Exactly the requested size, so that AddressSanitizer flags a read past
  // it; operator new's alignment covers DANLU_DYNAMIC_SHARED's __align__(16).
  static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ >= 16);
  const auto shared = std::make_unique_for_overwrite<unsigned char[]>(l.shared_bytes);
  for (unsigned z = 0; z < l.grid.z; ++z)
    for (unsigned y = 0; y < l.grid.y; ++y)
      for (unsigned x = 0; x < l.grid.x; ++x) {
        // Fresh garbage per block (all-ones bytes are NaN as floats), so that
        // reading shared memory no thread of this block wrote shows up.
        std::memset(shared.get(), 0xff, l.shared_bytes);
        Scheduler::instance().run_block(l.name, l.body, l.grid, l.block, uint3{x, y, z},
                                        shared.get(), l.shared_bytes);
      }
}

}  // namespace danlu::emu

cudaError_t cudaFuncSetAttribute(const void* kernel, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 ||
      static_cast<size_t>(value) > danlu::emu::kMaxSharedPerBlockOptin)
    return cudaErrorInvalidValue;
  std::lock_guard lock(danlu::emu::launch_mutex());
  danlu::emu::shared_limits()[kernel] = static_cast<size_t>(value);
  return cudaSuccess;
}
