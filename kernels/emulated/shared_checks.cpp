// The race and uninitialised-read detectors (see shared_checks.h).
//
// Every shared byte has a shadow entry: when it was last written (for the
// uninitialised check), and who last wrote and read it in which barrier
// interval. Intervals are numbered by one counter that never goes back, over
// all blocks and launches, so nothing is cleared between blocks: an entry
// stamped with an older interval is ordered before the current access by a
// barrier, and one stamped before the current block began was not written by
// this block. Within an interval, two accesses of different threads are
// ordered only when both are lanes of one warp and the later lane has since
// completed a warp collective that the earlier one had not reached yet
// (each warp counts its completed collectives).
#include "kernels/emulated/shared_checks.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/error.h"
#include "kernels/emulated/scheduler.h"
#include "kernels/emulated/shared_names.h"

namespace danlu::emu::checks {

Ranges ranges;

namespace {

constexpr int kWarp = 32;
constexpr uint16_t kSeveral = 1;       // flags: more than one thread read
constexpr uint16_t kSeveralWarps = 2;  // flags: readers in more than one warp

struct Access {
  uint32_t interval = 0;  // 0: never
  uint16_t thread = 0;    // the first thread, when several
  uint16_t flags = 0;
  uint32_t warp_epoch = 0;  // the thread's completed collectives (the latest, when several)
};

struct Shadow {
  uint32_t written = 0;  // interval of the last write of any thread
  Access write;
  Access read;
};

struct State {
  bool race = true;
  bool init = true;
  uint32_t interval = 0;     // the current barrier interval
  uint32_t block_start = 0;  // the first interval of the current block
  int thread = -1;
  std::vector<uint32_t> thread_epoch;  // per thread: its warp's count at its last collective
  std::vector<uint32_t> warp_count;    // per warp: collectives completed
  std::vector<Shadow> static_shadow, dynamic_shadow;
};

State& state() {
  static State s;
  return s;
}

// DANLU_EMULATOR_CHECKS: "racecheck,initcheck" (the default), either one, or "none".
void read_setting(State& s) {
  const char* value = std::getenv("DANLU_EMULATOR_CHECKS");
  if (value == nullptr) return;
  const std::string_view v = value;
  s.race = v.find("racecheck") != std::string_view::npos;
  s.init = v.find("initcheck") != std::string_view::npos;
  DANLU_CHECK(s.race || s.init || v == "none", "CUDA emulator: DANLU_EMULATOR_CHECKS is '", v,
              "'; use racecheck,initcheck (the default), racecheck, initcheck or none");
}

// The calling host thread's block of the executable's thread_locals, where
// every __shared__ variable lives (qualifiers.h).
struct TlsBlock {
  uintptr_t begin = 0;
  size_t size = 0;
};

TlsBlock executable_tls() {
  thread_local TlsBlock block = [] {
    TlsBlock b;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* out) {
          for (int i = 0; i < info->dlpi_phnum; ++i)
            if (info->dlpi_phdr[i].p_type == PT_TLS)
              static_cast<TlsBlock*>(out)->size = info->dlpi_phdr[i].p_memsz;
          return 1;  // the first object is the executable
        },
        &b);
    void* self = dlopen(nullptr, RTLD_LAZY | RTLD_NOLOAD);
    void* data = nullptr;
    if (self != nullptr && b.size != 0 && dlinfo(self, RTLD_DI_TLS_DATA, &data) == 0)
      b.begin = reinterpret_cast<uintptr_t>(data);
    if (b.begin == 0) b.size = 0;
    return b;
  }();
  return block;
}

std::string thread_name(int thread) {
  const unsigned t = static_cast<unsigned>(thread);
  const dim3 b = ::blockDim;
  if (b.y * b.z == 1) return detail::concat("thread ", t);
  return detail::concat("thread ", t, " (", t % b.x, ",", t / b.x % b.y, ",", t / (b.x * b.y), ")");
}

std::string who(const Access& a) {
  if (a.flags & kSeveral) return thread_name(a.thread) + " and others";
  return thread_name(a.thread);
}

std::string what(uintptr_t address, bool is_static) {
  if (!is_static)
    return detail::concat("byte offset ", address - ranges.dynamic_begin,
                          " of dynamic shared memory");
  return describe_static_shared(address - ranges.static_begin);
}

[[noreturn]] void report(std::string message) {
  Scheduler::instance().fail_thread(std::move(message));
}

bool ordered(const Access& a, const State& s) {
  if (a.interval != s.interval) return true;  // a barrier lies between
  const int t = s.thread;
  if (!(a.flags & kSeveral) && a.thread == t) return true;  // program order
  return !(a.flags & kSeveralWarps) && a.thread / kWarp == t / kWarp &&
         s.thread_epoch[t] > a.warp_epoch;
}

Access now(const State& s) {
  return {s.interval, static_cast<uint16_t>(s.thread), 0, s.thread_epoch[s.thread]};
}

}  // namespace

bool enabled() {
  static const bool on = [] {
    read_setting(state());
    return state().race || state().init;
  }();
  return on;
}

void begin_block(int threads, unsigned char* dynamic_shared, size_t dynamic_bytes) {
  if (!enabled()) return;
  State& s = state();
  s.block_start = s.interval = s.interval + 1;
  s.thread = -1;
  s.thread_epoch.assign(threads, 0);
  s.warp_count.assign((threads + kWarp - 1) / kWarp, 0);
  const TlsBlock tls = executable_tls();
  if (s.static_shadow.size() < tls.size) s.static_shadow.resize(tls.size);
  if (s.dynamic_shadow.size() < dynamic_bytes) s.dynamic_shadow.resize(dynamic_bytes);
  ranges = {tls.begin, tls.size, reinterpret_cast<uintptr_t>(dynamic_shared), dynamic_bytes};
}

void end_block() { ranges = {}; }

void set_thread(int thread) { state().thread = thread; }

void barrier() { ++state().interval; }

void warp_sync(int base, unsigned participants) {
  if (!enabled()) return;
  State& s = state();
  const uint32_t epoch = ++s.warp_count[base / kWarp];
  for (; participants != 0; participants &= participants - 1)
    s.thread_epoch[base + __builtin_ctz(participants)] = epoch;
}

void check_access(uintptr_t address, size_t size, Kind kind) {
  State& s = state();
  if (s.thread < 0) return;  // the scheduler itself, between threads
  const bool is_static = address - ranges.static_begin < ranges.static_size;
  Shadow* shadow = is_static ? &s.static_shadow[address - ranges.static_begin]
                             : &s.dynamic_shadow[address - ranges.dynamic_begin];
  const uintptr_t end_offset = is_static ? ranges.static_size - (address - ranges.static_begin)
                                         : ranges.dynamic_size - (address - ranges.dynamic_begin);
  if (size > end_offset) size = end_offset;  // a range reaching past the end
  const Access me = now(s);
  for (size_t i = 0; i < size; ++i) {
    Shadow& b = shadow[i];
    if ((kind == Kind::read || kind == Kind::atomic_update) && s.init && b.written < s.block_start) {
      std::string m = detail::concat(
          "uninitialised shared memory: ", thread_name(s.thread), " read ",
          what(address + i, is_static), kind == Kind::atomic_update ? " in an atomic operation" : "",
          ", which no thread of this block has written (shared memory starts undefined in "
          "every block)");
      report(std::move(m));
    }
    if (kind == Kind::atomic_update || kind == Kind::atomic_store) {
      b.written = s.interval;
      continue;
    }
    if (s.race && b.write.interval == s.interval && !ordered(b.write, s)) {
      std::string m = detail::concat(
          "race on shared memory: ", thread_name(b.write.thread), " wrote ",
          what(address + i, is_static), " and ", thread_name(s.thread),
          kind == Kind::write ? " wrote" : " read",
          " it with no __syncthreads() between (nor a __syncwarp() within one warp)");
      report(std::move(m));
    }
    if (kind == Kind::read) {
      if (b.read.interval != s.interval || ordered(b.read, s)) {
        b.read = me;
      } else {  // another thread's read, unordered with this one: keep both
        if (b.read.thread / kWarp != s.thread / kWarp) b.read.flags |= kSeveralWarps;
        b.read.flags |= kSeveral;
        if (me.warp_epoch > b.read.warp_epoch) b.read.warp_epoch = me.warp_epoch;
      }
      continue;
    }
    if (s.race && b.read.interval == s.interval && !ordered(b.read, s)) {
      std::string m = detail::concat(
          "race on shared memory: ", who(b.read), " read ", what(address + i, is_static), " and ",
          thread_name(s.thread),
          " wrote it with no __syncthreads() between (nor a __syncwarp() within one warp)");
      report(std::move(m));
    }
    b.write = me;
    b.read = {};
    b.written = s.interval;
  }
}

}  // namespace danlu::emu::checks
