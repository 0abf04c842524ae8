// What the profiler times: one op family on one shape (a Workload), in each
// of its directions. The shapes carry the kernels' own shape structs, so a
// workload is exactly the arguments a kernel call gets.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "kernels/activation.h"
#include "kernels/conv.h"
#include "kernels/pool.h"

namespace danlu::profiler {

enum class Op { conv, bn, ln, act, pool, xent, optim, gemm };
enum class Direction { forward, backward, backward_data, backward_weight, update };
// The arithmetic a GEMM may use (only cuBLAS GEMMs have a TF32 row).
enum class Math { fp32, tf32 };

struct ConvWork {  // conv2d without bias (a conv before BatchNorm has none)
  kernels::Conv2dShape s;
};
struct BatchNormWork {  // training mode over (N, C, S)
  int64_t n = 0, c = 0, s = 0;
};
struct LayerNormWork {  // M rows of D elements
  int64_t m = 0, d = 0;
};
struct ActivationWork {
  kernels::Activation act = kernels::Activation::relu;
  int64_t n = 0;
};
enum class PoolKind { max, avg, adaptive_avg };
struct PoolWork {
  PoolKind kind = PoolKind::max;
  kernels::Pool2dShape s;
  bool count_include_pad = true;  // avg only
};
struct XentWork {  // softmax cross-entropy, N rows of C classes, mean reduction
  int64_t n = 0, classes = 0;
};
struct OptimWork {  // SGD with momentum over a model's parameters, one fused launch
  std::vector<int64_t> sizes;
};
struct GemmWork {  // nn.Linear: y (rows, out) = x (rows, in) . W^T, W (out, in)
  int64_t rows = 0, in = 0, out = 0;
};

using Workload = std::variant<ConvWork, BatchNormWork, LayerNormWork, ActivationWork, PoolWork,
                              XentWork, OptimWork, GemmWork>;

Op op_of(const Workload& w);
// The directions a workload is timed in, in table order: conv and gemm
// forward, backward-data and backward-weight; the optimizer's update; the
// others forward and backward (one backward kernel computes every gradient).
std::vector<Direction> directions_of(Op op);

const char* op_name(Op op);  // "conv", "bn", ...
const char* direction_name(Direction d);  // "forward", "backward-data", ...
const char* math_name(Math m);  // "fp32", "tf32"
// Parses "conv,bn,gemm" (any order, no repeats); throws danlu::Error naming
// the bad entry and the choices.
std::vector<Op> parse_ops(const std::string& list);
const std::vector<Op>& all_ops();

// The shape in one line: "N128 C16 16x16 -> O32 k3x3 s2 p1". Two workloads
// of one op with the same text do the same work (the optimizer's is told
// apart by its tensor and parameter counts), so the text is the dedup key.
std::string describe(const Workload& w);

}  // namespace danlu::profiler
