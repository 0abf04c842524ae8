// The block scheduler and the built-ins that talk to it (see scheduler.h).
#include "kernels/emulated/scheduler.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <string_view>
#include <utility>

#include "engine/error.h"
#include "kernels/emulated/async_copy.h"
#include "kernels/emulated/mma.h"
#include "kernels/emulated/shared_checks.h"

uint3 threadIdx;
uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

namespace danlu::emu {

namespace {

// Kernel code is shallow; AddressSanitizer's redzones make frames larger.
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kStackBytes = 256 * 1024;
#else
constexpr size_t kStackBytes = 64 * 1024;
#endif
constexpr int kWarp = 32;

uint3 thread_index(int linear, dim3 block) {
  const auto t = static_cast<unsigned>(linear);
  return {t % block.x, t / block.x % block.y, t / (block.x * block.y)};
}


bool same_site(std::source_location a, std::source_location b) {
  return a.line() == b.line() && std::strcmp(a.file_name(), b.file_name()) == 0;
}

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::syncwarp: return "__syncwarp";
    case WarpOp::shfl: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::any: return "__any_sync";
    case WarpOp::all: return "__all_sync";
    case WarpOp::mma: return "mma.sync.m16n8k8";
  }
  return "?";
}

std::string hex(unsigned mask) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", mask);
  return text;
}

// Sorted indices as "0-3, 7, 9-31".
std::string ranges(const std::vector<int>& sorted) {
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(sorted[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(sorted[j]);
    }
    i = j + 1;
  }
  return out;
}

// The lane a shuffle reads, following the PTX definition of shfl.sync (the
// CUDA intrinsics pass c = ((32 - width) << 8) | clamp): a source outside the
// lane's segment of `width` lanes means the lane keeps its own value.
int source_lane(WarpOp op, int lane, int b, int width) {
  const int segment_bits = (kWarp - width) & (kWarp - 1);
  const int clamp = op == WarpOp::shfl_up ? 0 : kWarp - 1;
  const int max_lane = (lane & segment_bits) | (clamp & ~segment_bits);
  const int min_lane = lane & segment_bits;
  b &= kWarp - 1;
  int j = lane;
  bool in_range = true;
  switch (op) {
    case WarpOp::shfl_up: j = lane - b; in_range = j >= max_lane; break;
    case WarpOp::shfl_down: j = lane + b; in_range = j <= max_lane; break;
    case WarpOp::shfl_xor: j = lane ^ b; in_range = j <= max_lane; break;
    default: j = min_lane | (b & ~segment_bits); in_range = j <= max_lane; break;
  }
  return in_range ? j : lane;
}

bool is_shuffle(WarpOp op) {
  return op == WarpOp::shfl || op == WarpOp::shfl_up || op == WarpOp::shfl_down ||
         op == WarpOp::shfl_xor;
}

}  // namespace

std::string where(std::source_location site) {
  std::string_view path = site.file_name();
  for (std::string_view root : {"/kernels/", "/tests/"}) {
    const size_t at = path.rfind(root);
    if (at != std::string_view::npos) {
      path.remove_prefix(at + 1);
      break;
    }
  }
  return detail::concat(path, ":", site.line());
}

Scheduler& Scheduler::instance() {
  static Scheduler scheduler;
  return scheduler;
}

Scheduler::Scheduler() {
  const char* order = std::getenv("DANLU_EMULATOR_ORDER");
  const std::string_view o = order ? order : "forward";
  DANLU_CHECK(o == "forward" || o == "reverse", "CUDA emulator: DANLU_EMULATOR_ORDER is '", o,
              "'; use forward (the default) or reverse");
  reverse_ = o == "reverse";
}

void Scheduler::enqueue(const std::vector<int>& ascending) {
  if (reverse_)
    ready_.insert(ready_.end(), ascending.rbegin(), ascending.rend());
  else
    ready_.insert(ready_.end(), ascending.begin(), ascending.end());
}

void Scheduler::fiber_main(void* index_ptr) {
  const auto index = static_cast<int>(reinterpret_cast<intptr_t>(index_ptr));
  Scheduler& self = instance();
  for (;;) {  // one iteration per block this fiber runs a thread of
    try {
      self.body_.invoke(self.body_.context);
      self.threads_[index].status = Status::exited;
    } catch (const std::exception& e) {
      self.threads_[index].status = Status::failed;
      self.threads_[index].failure = detail::concat("kernel code threw: ", e.what());
    } catch (...) {
      self.threads_[index].status = Status::failed;
      self.threads_[index].failure = "kernel code threw a non-standard exception";
    }
    self.fibers_[index]->yield();
  }
}

void Scheduler::run_block(const char* kernel, KernelBody body, dim3 grid, dim3 block,
                          uint3 block_idx, unsigned char* dynamic_shared,
                          size_t dynamic_shared_bytes) {
  const int n = static_cast<int>(block.x * block.y * block.z);
  while (static_cast<int>(fibers_.size()) < n) {
    void* index = reinterpret_cast<void*>(static_cast<intptr_t>(fibers_.size()));
    fibers_.push_back(std::make_unique<Fiber>(kStackBytes, &Scheduler::fiber_main, index));
    needs_restart_.push_back(false);
  }
  for (int i = 0; i < n; ++i) {
    if (needs_restart_[i]) fibers_[i]->restart();
    needs_restart_[i] = false;
  }
  threads_.assign(n, Thread{});
  kernel_ = kernel;
  body_ = body;
  dynamic_shared_ = dynamic_shared;
  ::blockIdx = block_idx;
  ::blockDim = block;
  ::gridDim = grid;
  ready_.clear();
  batch_.resize(n);
  for (int i = 0; i < n; ++i) batch_[i] = i;
  enqueue(batch_);
  at_barrier_ = 0;
  exited_ = 0;
  checks::begin_block(n, dynamic_shared, dynamic_shared_bytes);
  begin_block_copies(n);
  struct EndChecks {  // also when the block fails
    ~EndChecks() { checks::end_block(); }
  } end_checks;

  while (!ready_.empty()) {
    const int t = ready_.front();
    ready_.pop_front();
    current_ = t;
    ::threadIdx = thread_index(t, block);
    checks::set_thread(t);
    fibers_[t]->resume();
    checks::set_thread(-1);
    current_ = -1;
    switch (threads_[t].status) {
      case Status::exited: {
        ++exited_;
        // A returned lane no longer holds up the collectives of its warp.
        const int base = t / kWarp * kWarp;
        for (int lane = 0; lane < kWarp && base + lane < n; ++lane)
          if (threads_[base + lane].status == Status::at_warp) try_complete_warp(base + lane);
        break;
      }
      case Status::at_barrier:
        if (++at_barrier_ == n) release_barrier();
        break;
      case Status::at_warp: try_complete_warp(t); break;
      case Status::failed: fail_block(threads_[t].failure);
      case Status::ready: break;
    }
  }
  if (exited_ != n)
    fail_block("deadlock: " + describe_deadlock() +
               ". Every thread of a block must reach each __syncthreads(), and every lane a "
               "warp collective's mask names must reach it or return");
}

void Scheduler::fail_block(const std::string& message) {
  for (size_t i = 0; i < threads_.size(); ++i)
    if (threads_[i].status != Status::exited) needs_restart_[i] = true;
  DANLU_FAIL("CUDA emulator: kernel ", kernel_, ", block (", ::blockIdx.x, ",", ::blockIdx.y, ",",
             ::blockIdx.z, "): ", message);
}

void Scheduler::fail_current(std::string message) {
  const uint3 t = ::threadIdx;
  std::string full = detail::concat("thread (", t.x, ",", t.y, ",", t.z, "): ", message);
  std::string().swap(message);  // this frame is abandoned too
  fail_thread(std::move(full));
}

void Scheduler::fail_thread(std::string message) {
  const int self = current_;
  threads_[self].status = Status::failed;
  threads_[self].failure.swap(message);
  // This frame is abandoned, never unwound: nothing on the stack may keep memory.
  std::string().swap(message);
  fibers_[self]->yield();
  std::abort();  // a failed fiber is restarted, never resumed
}

int Scheduler::barrier(int predicate, std::source_location site) {
  DANLU_CHECK(current_ >= 0, "CUDA emulator: __syncthreads() called outside a kernel at ",
              where(site));
  const int self = current_;
  Thread& t = threads_[self];
  t.status = Status::at_barrier;
  t.site = site;
  t.predicate = predicate;
  fibers_[self]->yield();
  return threads_[self].barrier_result;
}

void Scheduler::release_barrier() {
  int count = 0;
  for (const Thread& t : threads_) {
    if (!same_site(t.site, threads_[0].site))
      fail_block("threads wait at different __syncthreads() calls (" + describe_deadlock() +
                 "); a barrier must be the same call for the whole block");
    count += t.predicate;
  }
  checks::barrier();
  batch_.clear();
  for (size_t i = 0; i < threads_.size(); ++i) {
    threads_[i].status = Status::ready;
    threads_[i].barrier_result = count;
    batch_.push_back(static_cast<int>(i));
  }
  enqueue(batch_);
  at_barrier_ = 0;
}

WarpValue Scheduler::warp_collective(WarpOp op, unsigned mask, unsigned long long bits, int arg,
                                     int width, std::source_location site) {
  DANLU_CHECK(current_ >= 0, "CUDA emulator: ", op_name(op), " called outside a kernel at ",
              where(site));
  const int self = current_;
  const int lane = self % kWarp;
  // Each message is built in its own statement, so that no temporary of it
  // is alive in this frame when fail_current abandons the fiber.
  std::string problem;
  if (!(mask >> lane & 1u))
    problem = detail::concat(op_name(op), " at ", where(site), " with mask ", hex(mask),
                             " does not name the calling lane ", lane);
  else if (is_shuffle(op) && (width < 1 || width > kWarp || (width & (width - 1)) != 0))
    problem = detail::concat(op_name(op), " at ", where(site), ": width ", width,
                             " is not a power of two in [1, 32]");
  if (!problem.empty()) fail_current(std::move(problem));
  Thread& t = threads_[self];
  t.status = Status::at_warp;
  t.site = site;
  t.op = op;
  t.mask = mask;
  t.arg = arg;
  t.width = width;
  t.bits = bits;
  fibers_[self]->yield();
  return threads_[self].result;
}

unsigned Scheduler::live_lanes(int base) const {
  const int lanes = static_cast<int>(threads_.size()) - base;
  return lanes >= kWarp ? 0xffffffffu : (1u << lanes) - 1;
}

void Scheduler::try_complete_warp(int thread) {
  const Thread& me = threads_[thread];
  const int base = thread / kWarp * kWarp;
  unsigned participants = 0;
  for (unsigned todo = me.mask & live_lanes(base); todo != 0; todo &= todo - 1) {
    const int lane = __builtin_ctz(todo);
    const Thread& other = threads_[base + lane];
    if (other.status == Status::exited) continue;  // its value is undefined, not awaited
    if (other.status != Status::at_warp || other.mask != me.mask) return;
    participants |= 1u << lane;
  }
  complete_warp(base, participants);
}

void Scheduler::complete_warp(int base, unsigned participants) {
  const Thread& first = threads_[base + __builtin_ctz(participants)];
  unsigned ballot = 0;
  for (unsigned todo = participants; todo != 0; todo &= todo - 1) {
    const int lane = __builtin_ctz(todo);
    const Thread& t = threads_[base + lane];
    if (t.op != first.op || t.width != first.width) {
      std::map<std::string, std::vector<int>> lanes;
      for (unsigned p = participants; p != 0; p &= p - 1)
        lanes[describe_wait(base + __builtin_ctz(p))].push_back(__builtin_ctz(p));
      std::string detail;
      for (const auto& [what, which] : lanes)
        detail += (detail.empty() ? "" : "; ") + ("lanes " + ranges(which) + ": " + what);
      fail_block(detail::concat("the lanes of warp ", base / kWarp,
                        " meet at different warp collectives (", detail,
                        "); all lanes of a mask must call the same one"));
    }
    if (t.bits != 0) ballot |= 1u << lane;
  }
  if (first.op == WarpOp::mma) return complete_mma(base, participants);
  checks::warp_sync(base, participants);
  for (unsigned todo = participants; todo != 0; todo &= todo - 1) {
    const int lane = __builtin_ctz(todo);
    Thread& t = threads_[base + lane];
    switch (t.op) {
      case WarpOp::syncwarp: t.result = {0, true}; break;
      case WarpOp::ballot: t.result = {ballot, true}; break;
      case WarpOp::any: t.result = {ballot != 0, true}; break;
      case WarpOp::all: t.result = {ballot == participants, true}; break;
      default: {
        const int src = source_lane(t.op, lane, t.arg, t.width);
        if (src == lane)
          t.result = {t.bits, true};
        else if (participants >> src & 1u)
          t.result = {threads_[base + src].bits, true};
        else
          t.result = {0, false};  // a lane that returned or is not in the mask
      }
    }
  }
  batch_.clear();
  for (unsigned todo = participants; todo != 0; todo &= todo - 1) {
    const int thread = base + __builtin_ctz(todo);
    threads_[thread].status = Status::ready;
    batch_.push_back(thread);
  }
  enqueue(batch_);
}

// mma.sync.aligned: every lane of the warp executes the same mma
// instruction. Unlike the other collectives it does not order the lanes'
// shared-memory accesses for the race detector: PTX promises no such thing.
void Scheduler::complete_mma(int base, unsigned participants) {
  const int lanes = std::min(kWarp, static_cast<int>(threads_.size()) - base);
  const int warp = base / kWarp;
  const std::string site = where(threads_[base + __builtin_ctz(participants)].site);
  std::vector<int> missing;
  for (int lane = 0; lane < lanes; ++lane)
    if (!(participants >> lane & 1u)) missing.push_back(lane);
  if (lanes < kWarp)
    fail_block(detail::concat("mma.sync.m16n8k8 at ", site, " in warp ", warp, ", which has only ",
                              lanes, " threads; mma.sync.aligned needs all 32 lanes of a warp"));
  if (!missing.empty())
    fail_block(detail::concat("mma.sync.m16n8k8 at ", site, ": lanes ", ranges(missing),
                              " of warp ", warp,
                              " returned before it; mma.sync.aligned needs all 32 lanes of a warp"));
  MmaTf32Fragments* fragments[kWarp];
  for (int lane = 0; lane < kWarp; ++lane) {
    const Thread& t = threads_[base + lane];
    if (!same_site(t.site, threads_[base].site))
      fail_block(detail::concat("the lanes of warp ", warp,
                                " execute different mma.sync.m16n8k8 calls (lane 0: ",
                                describe_wait(base), "; lane ", lane, ": ",
                                describe_wait(base + lane),
                                "); mma.sync.aligned needs all lanes at the same one"));
    fragments[lane] = reinterpret_cast<MmaTf32Fragments*>(static_cast<uintptr_t>(t.bits));
  }
  mma_m16n8k8_tf32_warp(fragments);
  batch_.clear();
  for (int lane = 0; lane < kWarp; ++lane) {
    threads_[base + lane].status = Status::ready;
    threads_[base + lane].result = {0, true};
    batch_.push_back(base + lane);
  }
  enqueue(batch_);
}

std::string Scheduler::describe_wait(int thread) const {
  const Thread& t = threads_[thread];
  switch (t.status) {
    case Status::at_barrier: return "wait at __syncthreads() (" + where(t.site) + ")";
    case Status::at_warp:
      return detail::concat("wait at ", op_name(t.op), "(mask ", hex(t.mask), ") (", where(t.site),
                            ")");
    case Status::exited: return "returned";
    case Status::ready: return "runnable";
    case Status::failed: return "failed";
  }
  return "?";
}

std::string Scheduler::describe_deadlock() const {
  // Group the threads by what they do, in order of each group's first thread.
  std::vector<std::pair<std::string, std::vector<int>>> groups;
  for (int i = 0; i < static_cast<int>(threads_.size()); ++i) {
    const std::string what = describe_wait(i);
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == what; });
    if (it == groups.end()) it = groups.insert(groups.end(), {what, {}});
    it->second.push_back(i);
  }
  std::string out;
  for (const auto& [what, which] : groups)
    out += (out.empty() ? "" : "; ") + ("threads " + ranges(which) + ": " + what);
  if (::blockDim.y * ::blockDim.z > 1)
    out += " (thread numbers are x + blockDim.x * (y + blockDim.y * z))";
  return out;
}

int barrier(int predicate, std::source_location site) {
  return Scheduler::instance().barrier(predicate, site);
}

WarpValue warp_collective(WarpOp op, unsigned mask, unsigned long long bits, int arg, int width,
                          std::source_location site) {
  return Scheduler::instance().warp_collective(op, mask, bits, arg, width, site);
}

unsigned char* dynamic_shared() { return Scheduler::instance().dynamic_shared(); }

}  // namespace danlu::emu
