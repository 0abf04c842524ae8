// The work each profiled kernel must do: floating-point operations and the
// minimal (compulsory) memory traffic, per op, direction and shape. These are
// the numerators of the achieved TFLOP/s and GB/s and of the roofline bound,
// so each formula is written out once here (docs/performance.md lists them).
#pragma once

#include "profiler/workload.h"

namespace danlu::profiler {

struct Cost {
  // Multiply-adds count 2. Counted only for the compute-bound ops (conv,
  // gemm); the others' few operations per element never bound them.
  double flops = 0;
  // Every input read once and every output written once, f32 = 4 bytes,
  // int64 targets = 8 bytes, int32 max-pool indices = 4. Re-reads a kernel makes (a second pass
  // over x, tiles loaded by several blocks) are its own cost, not the op's.
  double bytes = 0;
};

// Whether the op's roofline is arithmetic (conv, gemm: TFLOP/s) or memory
// traffic (the rest: GB/s).
bool compute_bound(Op op);

Cost cost_of(const Workload& w, Direction d);

}  // namespace danlu::profiler
