#include "engine/host_memory.h"

#include <unistd.h>

#include <atomic>

#include "engine/cuda_memory.h"
#include "engine/error.h"

namespace danlu {

namespace {
std::atomic<uint64_t> g_in_use{0}, g_peak{0}, g_limit{0};

uint64_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}
}  // namespace

HostMemoryStats host_memory_stats() {
  return {g_in_use.load(), g_peak.load(), g_limit.load(), physical_memory()};
}

void reset_host_peak_memory() { g_peak.store(g_in_use.load()); }

void set_host_memory_limit(uint64_t bytes) { g_limit.store(bytes); }

void host_memory_acquire(uint64_t bytes) {
  const uint64_t limit = g_limit.load();
  const uint64_t now = g_in_use.fetch_add(bytes) + bytes;
  if (limit && now > limit) {
    g_in_use.fetch_sub(bytes);
    throw OutOfMemory(detail::concat("out of host memory: allocating ", format_bytes(bytes),
                                     " with ", format_bytes(now - bytes), " in use passes the cap of ",
                                     format_bytes(limit)));
  }
  uint64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

void host_memory_release(uint64_t bytes) noexcept { g_in_use.fetch_sub(bytes); }

}  // namespace danlu
