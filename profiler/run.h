// `danlu profile`'s measurement: the roofline of cuda:0, then every
// workload's kernels in each direction, ours and the vendor's, into a Report.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "profiler/report.h"
#include "profiler/workload.h"

namespace danlu::profiler {

struct ProfileOptions {
  std::vector<Op> ops = all_ops();  // in table order
  int iters = 20;                   // timed launches per kernel
  int warmup = 3;                   // untimed launches before them
  size_t copy_bytes = size_t(256) << 20;  // the bandwidth copy's buffer
};

// "" when kernels can be timed here; otherwise why not, in one line ("this
// build of danlu has no CUDA backend", "no usable CUDA device (...)").
std::string profile_unavailable_reason();

// Times the workloads whose op is in options.ops on cuda:0. gemm rows come
// twice, in FP32 and with TF32 allowed. Throws danlu::Error when
// profile_unavailable_reason() is not "".
Report run_profile(const std::vector<Workload>& workloads, const ProfileOptions& options);

}  // namespace danlu::profiler
