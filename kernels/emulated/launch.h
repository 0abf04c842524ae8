// The emulated kernel launch: what launch() in kernels/cuda/launch.cuh does
// in the emulated build instead of kernel<<<grid, block, shared>>>(args...).
#pragma once

#include <cstddef>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_runtime_api.h"
#include "kernels/emulated/capture.h"
#include "vector_types.h"

namespace danlu::emu {

// Runs the kernel for the thread the scheduler is currently on.
struct KernelBody {
  void (*invoke)(const void* context);
  const void* context;
};

struct Launch {
  const char* name;      // for error messages
  const void* kernel;    // identifies the kernel (cudaFuncSetAttribute)
  dim3 grid;
  dim3 block;
  size_t shared_bytes;   // dynamic shared memory per block
  KernelBody body;
};

// Checks the configuration, then runs every block, one after another, each
// as cooperative fibers; returns when the grid has finished. Throws
// danlu::Error naming the kernel on a bad configuration or a deadlock.
void run_grid(const Launch& launch);

// Runs the grid now, or records it when `stream` is capturing (each launch of
// the graph then runs it with the same arguments). A refused launch returns
// the error (capture.h's submit), which launch() reports.
template <class... Params, class... Args>
cudaError_t launch_kernel(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
                          size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  // Converted to the parameter types once, as a launch copies its arguments;
  // every thread then receives its own copy, as every GPU thread does.
  using Tuple = std::tuple<std::decay_t<Params>...>;
  auto params = std::make_shared<const Tuple>(std::forward<Args>(args)...);
  return submit(stream, [=] {
    auto run = [&] { std::apply(kernel, *params); };
    run_grid({name, reinterpret_cast<const void*>(kernel), grid, block, shared_bytes,
              {[](const void* context) { (*static_cast<const decltype(run)*>(context))(); },
               &run}});
  });
}

}  // namespace danlu::emu
