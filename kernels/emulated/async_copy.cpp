// cp.async's copies in flight, per thread of the running block (async_copy.h).
#include "kernels/emulated/async_copy.h"

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "kernels/emulated/device_memory.h"
#include "kernels/emulated/scheduler.h"
#include "kernels/emulated/shared_checks.h"

namespace danlu::emu {

namespace {

constexpr int kMaxCopyBytes = 16;

struct Copy {
  unsigned char* dst;
  int bytes;
  unsigned char data[kMaxCopyBytes];  // what lands: the source as read at issue, then zeros
};

struct ThreadCopies {
  std::vector<Copy> open;                  // issued since the last commit
  std::deque<std::vector<Copy>> groups;    // committed, oldest first
};

struct State {
  std::vector<ThreadCopies> threads;
  bool used = false;  // some thread of this block issued a copy
};

State state;

ThreadCopies& current(const char* what) {
  const int t = Scheduler::instance().current_thread();
  DANLU_CHECK(t >= 0, "CUDA emulator: ", what, " called outside a kernel");
  state.used = true;
  return state.threads[t];
}

// Why the copy is invalid, or "" when it is not.
std::string misuse(void* dst, const void* src, int bytes, int src_bytes) {
  const auto d = reinterpret_cast<uintptr_t>(dst), s = reinterpret_cast<uintptr_t>(src);
  if (src_bytes < 0 || src_bytes > bytes)
    return detail::concat("src-size ", src_bytes, " is outside [0, ", bytes, "]");
  if (d % bytes != 0 || s % bytes != 0)
    return detail::concat(d % bytes != 0 ? "destination " : "source ", "address is not ", bytes,
                          "-byte aligned");
  if (in_device_allocation(dst, static_cast<size_t>(bytes)))
    return "destination is device (global) memory; cp.async writes shared memory";
  if (src_bytes > 0 && !in_device_allocation(src, static_cast<size_t>(src_bytes)))
    return detail::concat("its ", src_bytes,
                          " source bytes are not inside one device allocation (a global read out "
                          "of range)");
  return "";
}

void land(const std::vector<Copy>& group) {
  for (const Copy& c : group) {
    checks::copy_landed(c.dst, static_cast<size_t>(c.bytes));
    std::memcpy(c.dst, c.data, static_cast<size_t>(c.bytes));
  }
}

}  // namespace

void cp_async(void* dst, const void* src, int bytes, int src_bytes, std::source_location site) {
  ThreadCopies& mine = current("cp.async");
  std::string problem = misuse(dst, src, bytes, src_bytes);
  if (!problem.empty()) {
    std::string m = detail::concat("cp.async of ", bytes, " bytes at ", where(site), ": ", problem);
    std::string().swap(problem);  // the frame is abandoned, never unwound
    Scheduler::instance().fail_current(std::move(m));
  }
  Copy c{static_cast<unsigned char*>(dst), bytes, {}};
  if (src_bytes > 0) std::memcpy(c.data, src, static_cast<size_t>(src_bytes));
  checks::copy_issued(dst, static_cast<size_t>(bytes));
  mine.open.push_back(c);
}

void cp_async_commit() {
  ThreadCopies& mine = current("cp.async.commit_group");
  mine.groups.push_back(std::move(mine.open));
  mine.open.clear();
}

void cp_async_wait(int pending_groups) {
  ThreadCopies& mine = current("cp.async.wait_group");
  while (static_cast<int>(mine.groups.size()) > pending_groups) {
    land(mine.groups.front());
    mine.groups.pop_front();
  }
}

void begin_block_copies(int threads) {
  if (state.used) {
    for (ThreadCopies& t : state.threads) {
      t.open.clear();
      t.groups.clear();
    }
  }
  state.used = false;
  if (static_cast<int>(state.threads.size()) < threads) state.threads.resize(threads);
}

}  // namespace danlu::emu
