// First-fit allocation inside one reserved block (device_arena.h).
#include "engine/device_arena.h"

#include <iterator>

#include "engine/cuda_memory.h"
#include "engine/error.h"

namespace danlu {

namespace {
constexpr size_t kAlignment = 256;  // cudaMalloc's
size_t aligned(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }
}  // namespace

DeviceArena::DeviceArena(Device device, size_t bytes)
    : device_(device), capacity_(aligned(bytes)) {
  base_ = static_cast<char*>(cuda_allocate(capacity_, device));
  free_[0] = capacity_;
}

DeviceArena::~DeviceArena() { cuda_free(base_, device_); }

void* DeviceArena::allocate(size_t bytes) {
  const size_t want = aligned(bytes ? bytes : 1);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < want) continue;
    const size_t offset = it->first, left = it->second - want;
    free_.erase(it);
    if (left) free_[offset + want] = left;
    used_[offset] = want;
    in_use_ += want;
    if (in_use_ > peak_) peak_ = in_use_;
    return base_ + offset;
  }
  return nullptr;
}

void DeviceArena::release(void* part) {
  const size_t offset = static_cast<size_t>(static_cast<char*>(part) - base_);
  auto used = used_.find(offset);
  DANLU_CHECK(used != used_.end(), "device arena: released memory it did not give out");
  size_t begin = offset, end = offset + used->second;
  in_use_ -= used->second;
  used_.erase(used);
  // Join the free range that starts where this one ends, and the one before.
  if (auto next = free_.find(end); next != free_.end()) {
    end += next->second;
    free_.erase(next);
  }
  if (auto after = free_.lower_bound(begin); after != free_.begin()) {
    auto prev = std::prev(after);
    if (prev->first + prev->second == begin) {
      begin = prev->first;
      free_.erase(prev);
    }
  }
  free_[begin] = end - begin;
}

}  // namespace danlu
