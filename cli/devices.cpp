// `danlu devices`: the CPU's threads and which GEMM it runs (OpenBLAS or the
// built-in one, and why) and whether the cuDNN comparison backend is built
// (and why not), then the CUDA devices this build can use, or one
// line saying why there are none and that training will run on the CPU.
#include <omp.h>

#include <cstdio>

#include "cli/commands.h"
#include "engine/device.h"
#include "engine/ops/conv.h"
#include "kernels/gemm.h"

namespace danlu::cli {

void add_devices_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("devices", "List CUDA devices usable for training");
  cmd->callback([] {
    std::printf("cpu  %d threads\n", omp_get_max_threads());
    std::printf("CPU GEMM: %s\n", kernels::cpu::gemm_description().c_str());
    if (const std::string hint = kernels::cpu::blas_tuning_hint(); !hint.empty())
      std::printf("hint: %s\n", hint.c_str());
    std::printf("cuDNN: %s\n", cudnn_status().c_str());
    const std::vector<CudaDeviceInfo> devices = cuda_devices();
    if (devices.empty()) {
      std::printf("no usable GPU: %s; training will use the CPU\n",
                  cuda_unavailable_reason().c_str());
      return;
    }
    for (const CudaDeviceInfo& d : devices)
      std::printf("cuda:%d  %s  %.1f GiB  compute capability %d.%d  %d SMs\n", d.index,
                  d.name.c_str(), d.total_memory_bytes / 1073741824.0, d.compute_major,
                  d.compute_minor, d.multiprocessors);
  });
}

}  // namespace danlu::cli
