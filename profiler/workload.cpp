// Names of ops, directions and shapes, and the --ops list parser.
#include "profiler/workload.h"

#include <algorithm>
#include <sstream>

#include "engine/error.h"

namespace danlu::profiler {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

const char* activation_name(kernels::Activation a) {
  switch (a) {
    case kernels::Activation::relu: return "relu";
    case kernels::Activation::leaky_relu: return "leaky_relu";
    case kernels::Activation::elu: return "elu";
    case kernels::Activation::gelu: return "gelu";
    case kernels::Activation::gelu_tanh: return "gelu_tanh";
    case kernels::Activation::silu: return "silu";
    case kernels::Activation::sigmoid: return "sigmoid";
    case kernels::Activation::tanh: return "tanh";
  }
  return "?";
}

const char* pool_name(PoolKind k) {
  switch (k) {
    case PoolKind::max: return "max";
    case PoolKind::avg: return "avg";
    case PoolKind::adaptive_avg: return "adaptive_avg";
  }
  return "?";
}

}  // namespace

Op op_of(const Workload& w) { return static_cast<Op>(w.index()); }

std::vector<Direction> directions_of(Op op) {
  switch (op) {
    case Op::conv:
    case Op::gemm: return {Direction::forward, Direction::backward_data, Direction::backward_weight};
    case Op::optim: return {Direction::update};
    default: return {Direction::forward, Direction::backward};
  }
}

const std::vector<Op>& all_ops() {
  static const std::vector<Op> ops = {Op::conv, Op::bn,   Op::ln,    Op::act,
                                      Op::pool, Op::xent, Op::optim, Op::gemm};
  return ops;
}

const char* op_name(Op op) {
  static const char* const names[] = {"conv", "bn", "ln", "act", "pool", "xent", "optim", "gemm"};
  return names[static_cast<int>(op)];
}

const char* direction_name(Direction d) {
  static const char* const names[] = {"forward", "backward", "backward-data", "backward-weight",
                                      "update"};
  return names[static_cast<int>(d)];
}

const char* math_name(Math m) { return m == Math::fp32 ? "fp32" : "tf32"; }

std::vector<Op> parse_ops(const std::string& list) {
  std::vector<Op> ops;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    const auto it = std::find_if(all_ops().begin(), all_ops().end(),
                                 [&](Op op) { return name == op_name(op); });
    DANLU_CHECK(it != all_ops().end(), "--ops: unknown op \"", name,
                "\"; expected a comma-separated list of conv, bn, ln, act, pool, xent, optim, gemm");
    DANLU_CHECK(std::find(ops.begin(), ops.end(), *it) == ops.end(), "--ops: \"", name,
                "\" is listed twice");
    ops.push_back(*it);
  }
  DANLU_CHECK(!ops.empty(), "--ops: expected at least one op");
  return ops;
}

std::string describe(const Workload& w) {
  std::ostringstream o;
  std::visit(
      Overloaded{
          [&](const ConvWork& c) {
            const kernels::Conv2dShape& s = c.s;
            o << "N" << s.n << " C" << s.c << " " << s.h << "x" << s.w << " -> O" << s.o << " k"
              << s.kh << "x" << s.kw << " s" << s.stride_h;
            if (s.stride_w != s.stride_h) o << "x" << s.stride_w;
            o << " p" << s.pad_h;
            if (s.pad_w != s.pad_h) o << "x" << s.pad_w;
            if (s.dil_h != 1 || s.dil_w != 1) o << " d" << s.dil_h << "x" << s.dil_w;
            if (s.groups != 1) o << " g" << s.groups;
          },
          [&](const BatchNormWork& b) { o << "N" << b.n << " C" << b.c << " S" << b.s; },
          [&](const LayerNormWork& l) { o << "M" << l.m << " D" << l.d; },
          [&](const ActivationWork& a) { o << activation_name(a.act) << " n" << a.n; },
          [&](const PoolWork& p) {
            const kernels::Pool2dShape& s = p.s;
            o << pool_name(p.kind) << " P" << s.planes << " " << s.h << "x" << s.w << " -> "
              << s.oh << "x" << s.ow;
            if (p.kind != PoolKind::adaptive_avg) {
              o << " k" << s.kh << "x" << s.kw << " s" << s.stride_h;
              if (s.stride_w != s.stride_h) o << "x" << s.stride_w;
              if (s.pad_h != 0 || s.pad_w != 0) o << " p" << s.pad_h << "x" << s.pad_w;
              if (p.kind == PoolKind::avg && !p.count_include_pad) o << " exclude-pad";
            }
          },
          [&](const XentWork& x) { o << "N" << x.n << " C" << x.classes; },
          [&](const OptimWork& opt) {
            int64_t total = 0;
            for (int64_t n : opt.sizes) total += n;
            o << "sgd momentum, " << opt.sizes.size() << " tensors, " << total << " params";
          },
          [&](const GemmWork& g) { o << "M" << g.rows << " K" << g.in << " N" << g.out; },
      },
      w);
  return o.str();
}

}  // namespace danlu::profiler
