// Host memory: what danlu's tensors hold on the CPU, their peak, and an
// optional cap. The counters are what `batch size vs. memory` is read from
// on the CPU; the cap lets a test (or a user sharing a machine) make an
// out-of-memory failure happen at a chosen size, as a full GPU would.
#pragma once

#include <cstdint>

namespace danlu {

struct HostMemoryStats {
  uint64_t in_use = 0;  // bytes held by host tensors now
  uint64_t peak = 0;    // the most in_use has been since the last reset
  uint64_t limit = 0;   // the cap; 0 when there is none
  uint64_t total = 0;   // the machine's physical memory
};

HostMemoryStats host_memory_stats();
// Restarts `peak` from the current in_use.
void reset_host_peak_memory();
// Caps the bytes host tensors may hold at once; 0 removes the cap.
void set_host_memory_limit(uint64_t bytes);

// Counts `bytes` as held; throws danlu::OutOfMemory when the cap would be
// passed. Storage calls these; nothing else should.
void host_memory_acquire(uint64_t bytes);
void host_memory_release(uint64_t bytes) noexcept;

}  // namespace danlu
