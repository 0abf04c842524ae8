// The race and uninitialised-read detectors (see shared_checks.h).
//
// Shared memory is shadowed in words of 4 bytes (the size of most accesses,
// so that one access usually costs one shadow entry); each entry keeps byte
// masks, so threads that touch different bytes of a word never conflict.
// An entry holds which bytes this block has written (for the uninitialised
// check), and who last wrote and read the word, which bytes, in which
// barrier interval. Intervals are numbered by one counter that never goes
// back, over all blocks and launches, so nothing is cleared between blocks:
// a record stamped with an older interval is ordered before the current
// access by a barrier, and a written-mask stamped before the current block
// began says nothing about this block. Within an interval, two accesses of
// different threads are ordered only when both are lanes of one warp and the
// later lane has since completed a warp collective that the earlier one had
// not reached yet (each warp counts its completed collectives).
#include "kernels/emulated/shared_checks.h"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
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
constexpr uint8_t kSeveral = 1;       // flags: more than one thread read
constexpr uint8_t kSeveralWarps = 2;  // flags: readers in more than one warp

struct Access {
  uint32_t interval = 0;  // 0: never
  uint16_t thread = 0;    // the first thread, when several
  uint8_t flags = 0;
  uint8_t bytes = 0;        // mask of the word's bytes accessed
  uint32_t warp_epoch = 0;  // the thread's completed collectives (the latest, when several)
};

struct Word {
  uint32_t written_block = 0;  // the block (its first interval) `written` and `in_flight` belong to
  uint8_t written = 0;         // mask of the bytes that block has written
  uint8_t in_flight = 0;       // mask of the bytes a cp.async has yet to land
  uint16_t copier = 0;         // the thread whose cp.async that is
  Access write;
  Access read;
};

struct State {
  bool race = true;
  bool init = true;
  uint32_t interval = 0;     // the current barrier interval
  uint32_t block_start = 0;  // the first interval of the current block
  int thread = -1;
  Access me;                           // an access by `thread` now, bytes left out
  std::vector<uint32_t> thread_epoch;  // per thread: its warp's count at its last collective
  std::vector<uint32_t> warp_count;    // per warp: collectives completed
  std::vector<Word> static_shadow, dynamic_shadow;
};

State state;

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

// The shared byte at `address`, in words.
std::string what(uintptr_t address) {
  if (address - ranges.dynamic_begin < ranges.dynamic_size)
    return detail::concat("byte offset ", address - ranges.dynamic_begin,
                          " of dynamic shared memory");
  return describe_static_shared(address - ranges.static_begin);
}

uintptr_t first_byte(uintptr_t word_address, unsigned mask) {
  return word_address + static_cast<unsigned>(__builtin_ctz(mask));
}

[[noreturn]] void report(std::string message) {
  Scheduler::instance().fail_thread(std::move(message));
}

[[noreturn, gnu::cold, gnu::noinline]] void report_race(const Access& earlier, bool earlier_wrote, uintptr_t byte,
                              bool now_writes) {
  std::string m = detail::concat(
      "race on shared memory: ", who(earlier), earlier_wrote ? " wrote " : " read ", what(byte),
      " and ", thread_name(state.thread), now_writes ? " wrote" : " read",
      " it with no __syncthreads() between (nor a __syncwarp() within one warp)");
  report(std::move(m));
}

[[noreturn, gnu::cold, gnu::noinline]] void report_uninitialised(uintptr_t byte, Kind kind) {
  std::string m = detail::concat(
      "uninitialised shared memory: ", thread_name(state.thread), " read ", what(byte),
      kind == Kind::atomic_update ? " in an atomic operation" : "",
      ", which no thread of this block has written (shared memory starts undefined in every "
      "block)");
  report(std::move(m));
}

[[noreturn, gnu::cold, gnu::noinline]] void report_in_flight(uintptr_t byte, Kind kind,
                                                             int copier) {
  const char* access = kind == Kind::read         ? " read "
                       : kind == Kind::copy_issue ? " issued a cp.async into "
                                                  : " wrote ";
  std::string m = detail::concat(
      "shared memory in flight: ", thread_name(state.thread), access, what(byte), " while a cp.async of ", thread_name(copier),
      " into it has not landed; the copy lands when that thread's cp.async.wait_group (or "
      "wait_all) retires its group, and other threads see it after a __syncthreads() that follows "
      "the wait");
  report(std::move(m));
}

bool ordered(const Access& a, const State& s) {
  if (a.interval != s.interval) return true;  // a barrier lies between
  const int t = s.thread;
  if (!(a.flags & kSeveral) && a.thread == t) return true;  // program order
  return !(a.flags & kSeveralWarps) && a.thread / kWarp == t / kWarp &&
         s.me.warp_epoch > a.warp_epoch;
}

// One access to the bytes `mask` of the word at `word_address`.
inline void check_word(Word& w, uintptr_t word_address, unsigned mask, Kind kind) {
  State& s = state;
  if (w.written_block != s.block_start) {
    w.written_block = s.block_start;
    w.written = 0;
    w.in_flight = 0;
  }
  if (kind == Kind::copy_land)
    w.in_flight &= ~mask;  // this copy's own bytes: only its thread lands it
  else if (s.race && (w.in_flight & mask) != 0)
    report_in_flight(first_byte(word_address, w.in_flight & mask), kind, w.copier);
  if ((kind == Kind::read || kind == Kind::atomic_update) && s.init && (mask & ~w.written) != 0)
    report_uninitialised(first_byte(word_address, mask & ~w.written), kind);
  if (kind == Kind::atomic_update || kind == Kind::atomic_store) {  // never races
    w.written |= mask;
    return;
  }
  const bool writes = kind != Kind::read;
  if (s.race && w.write.interval == s.interval && (w.write.bytes & mask) != 0 && !ordered(w.write, s))
    report_race(w.write, true, first_byte(word_address, w.write.bytes & mask), writes);
  if (!writes) {
    if (w.read.interval != s.interval) {
      w.read = s.me;
      w.read.bytes = mask;
    } else if (!(w.read.flags & kSeveral) && w.read.thread == s.thread) {
      w.read.bytes |= mask;  // the same thread again
      w.read.warp_epoch = s.me.warp_epoch;
    } else if (ordered(w.read, s)) {
      w.read = s.me;  // the earlier reads happened before this one
      w.read.bytes = mask;
    } else if (!(w.read.flags & kSeveralWarps)) {  // another thread's read, unordered: keep both
      w.read.flags |= kSeveral;
      if (w.read.thread / kWarp != s.thread / kWarp) w.read.flags |= kSeveralWarps;
      w.read.bytes |= mask;
      if (s.me.warp_epoch > w.read.warp_epoch) w.read.warp_epoch = s.me.warp_epoch;
    } else {
      w.read.bytes |= mask;
    }
    return;
  }
  if (s.race && w.read.interval == s.interval && (w.read.bytes & mask) != 0 && !ordered(w.read, s))
    report_race(w.read, false, first_byte(word_address, w.read.bytes & mask), true);
  const bool same_writer = w.write.interval == s.interval && w.write.thread == s.thread;
  const uint8_t earlier = same_writer ? w.write.bytes : 0;
  w.write = s.me;
  w.write.bytes = static_cast<uint8_t>(earlier | mask);
  if (kind == Kind::copy_issue) {  // written later, when it lands
    w.in_flight |= mask;
    w.copier = static_cast<uint16_t>(s.thread);
  } else {
    w.written |= mask;
  }
}

}  // namespace

bool enabled() {
  static const bool on = [] {
    read_setting(state);
    return state.race || state.init;
  }();
  return on;
}

void begin_block(int threads, unsigned char* dynamic_shared, size_t dynamic_bytes) {
  if (!enabled()) return;
  State& s = state;
  s.block_start = s.interval = s.interval + 1;
  s.thread = -1;
  s.thread_epoch.assign(threads, 0);
  s.warp_count.assign((threads + kWarp - 1) / kWarp, 0);
  const TlsBlock tls = executable_tls();
  // Word-aligned ranges: the shadow's words are the buffers' words.
  ranges = {tls.begin & ~uintptr_t{3}, tls.size + (tls.begin & 3),
            reinterpret_cast<uintptr_t>(dynamic_shared), dynamic_bytes};
  const size_t static_words = (ranges.static_size + 3) / 4, dynamic_words = (dynamic_bytes + 3) / 4;
  if (s.static_shadow.size() < static_words) s.static_shadow.resize(static_words);
  if (s.dynamic_shadow.size() < dynamic_words) s.dynamic_shadow.resize(dynamic_words);
}

void end_block() { ranges = {}; }

void set_thread(int thread) {
  State& s = state;
  s.thread = thread;
  if (thread >= 0 && static_cast<size_t>(thread) < s.thread_epoch.size())
    s.me = {s.interval, static_cast<uint16_t>(thread), 0, 0, s.thread_epoch[thread]};
}

void barrier() { ++state.interval; }

void warp_sync(int base, unsigned participants) {
  if (!enabled()) return;
  State& s = state;
  const uint32_t epoch = ++s.warp_count[base / kWarp];
  for (; participants != 0; participants &= participants - 1)
    s.thread_epoch[base + __builtin_ctz(participants)] = epoch;
}

void check_access(uintptr_t address, size_t size, Kind kind) {
  State& s = state;
  if (s.thread < 0) return;  // the scheduler itself, between threads
  const bool is_static = address - ranges.static_begin < ranges.static_size;
  const uintptr_t begin = is_static ? ranges.static_begin : ranges.dynamic_begin;
  const uintptr_t limit = is_static ? ranges.static_size : ranges.dynamic_size;
  Word* shadow = is_static ? s.static_shadow.data() : s.dynamic_shadow.data();
  const uintptr_t offset = address - begin;
  if ((offset & 3) + size <= 4 && offset + size <= limit) {  // within one word: the usual case
    const unsigned mask = ((1u << size) - 1) << (offset & 3);
    check_word(shadow[offset / 4], address & ~uintptr_t{3}, mask, kind);
    return;
  }
  const uintptr_t last = begin + std::min<uintptr_t>(offset + size, limit);  // may reach past the end
  for (uintptr_t word = begin + offset / 4 * 4; word < last; word += 4) {
    const uintptr_t from = std::max(word, address), to = std::min(word + 4, last);
    const unsigned mask = ((1u << (to - from)) - 1) << (from - word);
    check_word(shadow[(word - begin) / 4], word, mask, kind);
  }
}

void copy_issued(const void* address, size_t size) { access(address, size, Kind::copy_issue); }
void copy_landed(const void* address, size_t size) { access(address, size, Kind::copy_land); }

}  // namespace danlu::emu::checks
