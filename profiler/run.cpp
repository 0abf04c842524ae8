// The measurement loop: device facts, the bandwidth copy, then each bench.
#include "profiler/run.h"

#include <ctime>

#include "engine/cuda_context.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/tensor.h"
#include "kernels/conv.h"
#include "profiler/benches.h"
#include "profiler/timer.h"
#ifdef DANLU_WITH_CUDA
#include "kernels/cuda/check.h"
#endif

namespace danlu::profiler {

std::vector<int> parse_conv_variants(const std::string& text) {
  if (text == "auto") return {0};
  if (text == "all") {
    std::vector<int> all = {0};
    for (int rung : kernels::cuda::kConvRungs) all.push_back(rung);
    return all;
  }
  for (int rung : kernels::cuda::kConvRungs)
    if (text == std::to_string(rung)) return {rung};
  DANLU_FAIL("--conv-variant ", text, ": expected auto, all or a rung of ",
             kernels::cuda::conv2d_variant_numbers());
}

std::string profile_unavailable_reason() {
  if (!built_with_cuda()) return "this build of danlu has no CUDA backend";
  return cuda_unavailable_reason();
}

#ifdef DANLU_WITH_CUDA

namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// An attribute the device may not report (0 then).
int attribute(cudaDeviceAttr attr, int device) {
  int value = 0;
  if (cudaDeviceGetAttribute(&value, attr, device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return value;
}

DeviceInfo device_info(int index) {
  cudaDeviceProp p{};
  DANLU_CUDA_CHECK(cudaGetDeviceProperties(&p, index));
  DeviceInfo d;
  d.name = p.name;
  d.index = index;
  d.major = p.major, d.minor = p.minor;
  d.sm_count = p.multiProcessorCount;
  d.clock_khz = attribute(cudaDevAttrClockRate, index);
  d.memory_clock_khz = attribute(cudaDevAttrMemoryClockRate, index);
  DANLU_CUDA_CHECK(cudaDriverGetVersion(&d.driver_version));
  DANLU_CUDA_CHECK(cudaRuntimeGetVersion(&d.runtime_version));
  return d;
}

// Restores the TF32 switch when a tf32 row is done.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool allow) : previous_(allow_tf32()) { set_allow_tf32(allow); }
  ~Tf32Scope() { set_allow_tf32(previous_); }
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;

 private:
  bool previous_;
};

std::vector<std::string> notes_for(const std::vector<Op>& ops) {
  std::vector<std::string> notes;
  bool vendor_ops = false, plain_ops = false, gemm = false;
  for (Op op : ops) {
    vendor_ops |= op == Op::conv || op == Op::bn;
    plain_ops |= op != Op::conv && op != Op::bn && op != Op::gemm;
    gemm |= op == Op::gemm;
  }
  if (vendor_ops && !built_with_cudnn())
    notes.push_back(
        "vendor ms is - for conv and bn: this build has no cuDNN (not found at configure "
        "time, or kernels are emulated)");
  if (plain_ops)
    notes.push_back("ln, act, pool, xent and optim have no vendor kernel wired: vendor ms is -");
  if (gemm)
    notes.push_back("gemm is cuBLAS itself: no vendor column, only the fraction of the FP32 "
                    "or TF32 roofline");
  return notes;
}

Row time_row(const Workload& w, Direction d, Math math, const Launchers& l, KernelTimer& timer,
             const Roofline& roofline) {
  Row row;
  row.op = op_of(w), row.direction = d, row.math = math;
  row.shape = describe(w);
  row.cost = cost_of(w, d);
  row.ours = timer.time(l.ours);
  if (l.vendor) {
    row.vendor = l.vendor_name;
    row.vendor_time = timer.time(l.vendor);
  }
  row.fraction = roofline_fraction(roofline, row.cost, math, compute_bound(row.op),
                                   row.ours.median_ms);
  return row;
}

kernels::cuda::ConvPass pass_of(Direction d) {
  return d == Direction::forward         ? kernels::cuda::ConvPass::forward
         : d == Direction::backward_data ? kernels::cuda::ConvPass::backward_data
                                         : kernels::cuda::ConvPass::backward_weight;
}

// A conv workload: for each math mode and each variant asked for, a row per
// pass the variant runs on this shape; a pass it cannot run becomes a note
// (the dispatcher would run another variant there, timed in its own row).
void time_conv(const ConvWork& c, Device device, const ProfileOptions& options,
               KernelTimer& timer, Report& r) {
  std::vector<Math> maths = {Math::fp32};
  if (options.allow_tf32) maths.push_back(Math::tf32);
  for (Math math : maths) {
    for (int number : options.conv_variants) {
      const kernels::cuda::ConvVariant* forced =
          number > 0 ? kernels::cuda::conv2d_variant(number) : nullptr;
      // A TF32 row of a variant that never uses TF32 would repeat its FP32 row.
      if (math == Math::tf32 && forced && !forced->needs_tf32) continue;
      const kernels::cuda::ConvSettings settings{number, math == Math::tf32};
      const std::unique_ptr<Bench> bench = make_conv_bench(c, device, settings);
      for (Direction d : directions_of(Op::conv)) {
        const kernels::cuda::ConvVariant& ran =
            kernels::cuda::conv2d_choose(c.s, pass_of(d), settings);
        if (forced && ran.number != number) {
          r.notes.push_back(detail::concat(
              "conv ", describe(Workload{c}), " ", direction_name(d), ": variant ", number, " (",
              forced->name, ") not timed: ", forced->refusal(c.s, pass_of(d), settings.allow_tf32)));
          continue;
        }
        Row row = time_row(Workload{c}, d, math, bench->launchers(d), timer, r.roofline);
        row.kernel = detail::concat(forced ? "" : "auto: ", ran.number, " ", ran.name);
        r.rows.push_back(std::move(row));
      }
    }
  }
}

}  // namespace

Report run_profile(const std::vector<Workload>& workloads, const ProfileOptions& options) {
  const std::string reason = profile_unavailable_reason();
  DANLU_CHECK(reason.empty(), "profile: ", reason, ": kernel timings need a GPU");
  const Device device = Device::cuda(0);
  const CudaDeviceGuard guard(device);
  Report r;
  r.danlu_version = DANLU_VERSION;
  r.date = utc_now();
  r.iters = options.iters;
  r.warmup = options.warmup;
  r.device = device_info(device.index);
  r.notes = notes_for(options.ops);
  KernelTimer timer(device, options.warmup, options.iters);

  {  // peak bandwidth: one large device-to-device copy, the fastest of iters
    const int64_t floats = static_cast<int64_t>(options.copy_bytes / 4);
    const Tensor src = device_empty({floats}, device), dst = device_empty({floats}, device);
    const kernels::Stream stream = compute_stream(device);
    r.copy_bytes = double(floats) * 4;
    r.copy = timer.time([&] {
      DANLU_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), floats * 4,
                                       cudaMemcpyDeviceToDevice, stream));
    });
    r.roofline = make_roofline(r.device.major, r.device.minor, r.device.sm_count,
                               r.device.clock_khz, copy_bandwidth(r.copy_bytes, r.copy.min_ms));
  }

  for (Op op : options.ops) {
    for (const Workload& w : workloads) {
      if (op_of(w) != op) continue;
      if (op == Op::conv) {
        time_conv(std::get<ConvWork>(w), device, options, timer, r);
        continue;
      }
      const std::unique_ptr<Bench> bench = make_bench(w, device);
      for (Direction d : directions_of(op)) {
        for (Math math : op == Op::gemm ? std::vector<Math>{Math::fp32, Math::tf32}
                                        : std::vector<Math>{Math::fp32}) {
          const Tf32Scope tf32(math == Math::tf32);
          r.rows.push_back(time_row(w, d, math, bench->launchers(d), timer, r.roofline));
        }
      }
    }
  }
  return r;
}

#else  // a build without CUDA

Report run_profile(const std::vector<Workload>&, const ProfileOptions&) {
  DANLU_FAIL("profile: ", profile_unavailable_reason(), ": kernel timings need a GPU");
}

#endif

}  // namespace danlu::profiler
