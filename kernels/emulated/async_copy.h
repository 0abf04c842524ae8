// cp.async in the emulated build (kernels/cuda/async_copy.cuh): each thread
// keeps its copies in flight, grouped as PTX groups them, until its
// cp.async.wait_group retires them. A copy reads its source when issued and
// writes shared memory when its group retires; in between, the shared-memory
// detectors report any access to its destination (shared_checks.h).
#pragma once

#include <source_location>

namespace danlu::emu {

// cp.async of `bytes` (4, 8 or 16) into shared `dst`: the first `src_bytes`
// from global `src`, zeros after them (PTX's src-size operand). Fails the
// launch, naming `site`, when an address is misaligned, the source lies
// outside every device allocation, or the destination is device memory.
void cp_async(void* dst, const void* src, int bytes, int src_bytes, std::source_location site);
// cp.async.commit_group: the copies issued since the last commit form a group.
void cp_async_commit();
// cp.async.wait_group n: lands the oldest groups until at most n remain.
void cp_async_wait(int pending_groups);

// Forgets every thread's copies; the scheduler calls it when a block of
// `threads` threads starts.
void begin_block_copies(int threads);

}  // namespace danlu::emu
