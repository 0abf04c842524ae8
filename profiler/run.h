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
  // The conv variants timed (kernels/cuda/conv/): 0 = the dispatcher's
  // choice, N = rung N; each beside cuDNN.
  std::vector<int> conv_variants = {0};
  // Conv rows come in strict FP32 and, when TF32 is allowed, again with TF32
  // allowed on both sides (cuDNN's default math, danlu's choice with TF32).
  bool allow_tf32 = true;
};

// "auto", "N" or "all" (`--conv-variant`) as conv_variants; anything else
// throws danlu::Error naming the valid values.
std::vector<int> parse_conv_variants(const std::string& text);

// "" when kernels can be timed here; otherwise why not, in one line ("this
// build of danlu has no CUDA backend", "no usable CUDA device (...)").
std::string profile_unavailable_reason();

// Times the workloads whose op is in options.ops on cuda:0. gemm rows come
// twice, in FP32 and with TF32 allowed; conv rows once per variant in FP32
// and, with TF32 allowed, once per variant that can use TF32 (the
// dispatcher's choice always). Throws danlu::Error when
// profile_unavailable_reason() is not "".
Report run_profile(const std::vector<Workload>& workloads, const ProfileOptions& options);

}  // namespace danlu::profiler
