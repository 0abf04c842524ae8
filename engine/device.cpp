// Device parsing and CUDA device discovery through the CUDA runtime.
#include "engine/device.h"

#include "engine/error.h"

#ifdef DANLU_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace danlu {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    const std::string digits = text.substr(5);
    bool ok = !digits.empty() && digits.size() < 4 &&
              digits.find_first_not_of("0123456789") == std::string::npos;
    if (ok) return cuda(std::stoi(digits));
  }
  DANLU_FAIL("device: '", text, "' is not a device; use cpu, cuda or cuda:N");
}

std::string Device::str() const {
  return is_cpu() ? "cpu" : "cuda:" + std::to_string(index);
}

bool built_with_cuda() noexcept {
#ifdef DANLU_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() noexcept {
#ifdef DANLU_WITH_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return n;
#else
  return 0;
#endif
}

bool cuda_available() noexcept { return cuda_device_count() > 0; }

std::string cuda_unavailable_reason() noexcept {
#ifdef DANLU_WITH_CUDA
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return std::string("no usable CUDA device (") + cudaGetErrorString(err) + ")";
  }
  return n > 0 ? "" : "no CUDA device found";
#else
  return "this build of danlu has no CUDA support (configured without nvcc)";
#endif
}

std::vector<CudaDeviceInfo> cuda_devices() noexcept {
  std::vector<CudaDeviceInfo> out;
#ifdef DANLU_WITH_CUDA
  for (int i = 0; i < cuda_device_count(); ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    out.push_back({i, p.name, static_cast<uint64_t>(p.totalGlobalMem), p.major, p.minor,
                   p.multiProcessorCount});
  }
#endif
  return out;
}

}  // namespace danlu
