// Device: where a tensor lives (the CPU or CUDA device N), and what the
// machine offers. cuda_available() never throws: a toolkit without a driver
// or GPU simply means "no GPU".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace danlu {

enum class DeviceType { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
  // Parses "cpu", "cuda" or "cuda:N"; throws danlu::Error on anything else.
  static Device parse(const std::string& text);

  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  std::string str() const;  // "cpu", "cuda:0"
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  uint64_t total_memory_bytes = 0;
  int compute_major = 0, compute_minor = 0;
  int multiprocessors = 0;
};

// True when this build has CUDA and at least one device is usable.
bool cuda_available() noexcept;
// Number of usable CUDA devices (0 without a driver, a GPU or a CUDA build).
int cuda_device_count() noexcept;
// Why cuda_available() is false, in one line ("" when it is true).
std::string cuda_unavailable_reason() noexcept;
std::vector<CudaDeviceInfo> cuda_devices() noexcept;
// True when the engine was compiled with CUDA support.
bool built_with_cuda() noexcept;

}  // namespace danlu
