#include "engine/host_pool.h"

#include <sanitizer/asan_interface.h>  // no-op macros unless built with ASan
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace danlu {

namespace {

// Smaller blocks come from malloc's own free lists without page faults.
constexpr size_t kPooledBytes = size_t{256} << 10;

// The most the pool keeps unused: a quarter of physical memory, at most 8 GiB.
uint64_t cache_cap() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const uint64_t physical = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
  return std::min<uint64_t>(physical / 4, uint64_t{8} << 30);
}

struct Pool {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by size
  uint64_t cached = 0;
  const uint64_t cap = cache_cap();

  void* take(size_t bytes) {
    std::lock_guard lock(mutex);
    const auto it = free_blocks.find(bytes);
    if (it == free_blocks.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached -= bytes;
    ASAN_UNPOISON_MEMORY_REGION(p, bytes);
    return p;
  }

  bool keep(void* p, size_t bytes) {
    std::lock_guard lock(mutex);
    if (cached + bytes > cap) return false;
    // Under ASan a pooled block stays unusable, so a use after free is still caught.
    ASAN_POISON_MEMORY_REGION(p, bytes);
    free_blocks[bytes].push_back(p);
    cached += bytes;
    return true;
  }

  void release() noexcept {
    std::lock_guard lock(mutex);
    for (auto& [bytes, blocks] : free_blocks)
      for (void* p : blocks) {
        ASAN_UNPOISON_MEMORY_REGION(p, bytes);
        std::free(p);
      }
    free_blocks.clear();
    cached = 0;
  }
};

// Never destroyed: tensors freed by static destructors at exit still find it.
Pool& pool() {
  static Pool& p = *new Pool;
  return p;
}

}  // namespace

void* host_pool_allocate(size_t bytes) {
  if (bytes >= kPooledBytes)
    if (void* p = pool().take(bytes)) return p;
  if (void* p = std::aligned_alloc(kHostAlignment, bytes)) return p;
  pool().release();  // memory is short: give back what is unused, and retry
  return std::aligned_alloc(kHostAlignment, bytes);
}

void host_pool_free(void* p, size_t bytes) noexcept {
  if (!p) return;
  if (bytes >= kPooledBytes && pool().keep(p, bytes)) return;
  std::free(p);
}

uint64_t host_pool_cached_bytes() {
  std::lock_guard lock(pool().mutex);
  return pool().cached;
}

void host_pool_release_cached() noexcept { pool().release(); }

}  // namespace danlu
