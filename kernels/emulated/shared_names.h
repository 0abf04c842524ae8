// Names for static shared memory in the detectors' reports: which __shared__
// variable of which function an offset into the thread_local block falls in.
#pragma once

#include <cstddef>
#include <string>

namespace danlu::emu::checks {

// "`tile` of kernel(float*) (byte 20 of it)", from the executable's symbol
// table; "static shared memory at offset N" when it has none.
std::string describe_static_shared(size_t tls_offset);

}  // namespace danlu::emu::checks
