// The emulated kernel launch: what launch() in kernels/cuda/launch.cuh does
// in the emulated build instead of kernel<<<grid, block, shared>>>(args...).
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

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

template <class... Params, class... Args>
void launch_kernel(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
                   size_t shared_bytes, Args&&... args) {
  // Converted to the parameter types once, as a launch copies its arguments;
  // every thread then receives its own copy, as every GPU thread does.
  const std::tuple<std::decay_t<Params>...> params{std::forward<Args>(args)...};
  auto run = [&] { std::apply(kernel, params); };
  run_grid({name, reinterpret_cast<const void*>(kernel), grid, block, shared_bytes,
            {[](const void* context) { (*static_cast<const decltype(run)*>(context))(); },
             &run}});
}

}  // namespace danlu::emu
