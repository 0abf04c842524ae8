// `danlu profile`: times danlu's kernels against cuDNN/cuBLAS and the
// roofline on the layer shapes of the shipped configs or of one config.
// Exit status: 0 measured, 1 an error (bad argument, config, CUDA failure),
// 3 nothing measured because this machine or build cannot time kernels (one
// line on stderr says why).
#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/roofline_plot.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "profiler/run.h"
#include "profiler/shapes.h"

namespace danlu::cli {

namespace {

constexpr int kNothingMeasured = 3;

struct ProfileArgs {
  std::string ops = "conv,bn,ln,act,pool,xent,optim,gemm";
  std::string shapes = "standard";
  std::string json;
  std::string roofline;
  std::string conv_variant = "auto";
  bool no_tf32 = false;
  int iters = 20;
};

int run(const ProfileArgs& a) {
  profiler::ProfileOptions options;
  options.ops = profiler::parse_ops(a.ops);
  options.iters = a.iters;
  options.conv_variants = profiler::parse_conv_variants(a.conv_variant);
  options.allow_tf32 = !a.no_tf32;
  if (!a.roofline.empty()) {
    DANLU_CHECK(a.roofline.ends_with(".png") || a.roofline.ends_with(".svg"), "--roofline ",
                a.roofline, ": expected a .png or .svg file name");
    const auto has = [&](profiler::Op op) {
      return std::find(options.ops.begin(), options.ops.end(), op) != options.ops.end();
    };
    DANLU_CHECK(has(profiler::Op::conv) || has(profiler::Op::gemm),
                "--roofline places kernels by their FLOPs: add conv or gemm to --ops");
  }
  // Shapes first, so a bad config is reported on any machine.
  const std::vector<profiler::Workload> workloads = a.shapes == "standard"
                                                        ? profiler::standard_workloads()
                                                        : profiler::config_workloads(a.shapes);
  const std::string reason = profiler::profile_unavailable_reason();
  if (!reason.empty()) {
    std::fprintf(stderr, "danlu profile: %s: kernel timings need a GPU\n", reason.c_str());
    return kNothingMeasured;
  }
  const profiler::Report report = profiler::run_profile(workloads, options);
  std::printf("%s\n%s", profiler::format_header(report).c_str(),
              profiler::format_table(report).c_str());
  if (!a.json.empty()) {
    const std::string text = profiler::to_json(report).dump(2) + '\n';
    io::replace_file(a.json, [&](io::AtomicWriter& file) { file.write(text); });
    std::printf("wrote %s\n", a.json.c_str());
  }
  if (!a.roofline.empty() && write_roofline(a.roofline, report))
    std::printf("wrote %s\n", a.roofline.c_str());
  return 0;
}

}  // namespace

void add_profile_command(CLI::App& app) {
  auto args = std::make_shared<ProfileArgs>();
  CLI::App* cmd = app.add_subcommand(
      "profile", "Time danlu's kernels against cuDNN/cuBLAS and the roofline (needs a GPU)");
  cmd->add_option("--ops", args->ops, "comma-separated: conv,bn,ln,act,pool,xent,optim,gemm")
      ->capture_default_str();
  cmd->add_option("--shapes", args->shapes,
                  "\"standard\" (shipped configs, presets, ResNet-18 3x3 convs) or a training "
                  "config's model")
      ->capture_default_str();
  cmd->add_option("--json", args->json, "also write the results as JSON to this file");
  cmd->add_option("--roofline", args->roofline,
                  "also draw the conv and GEMM kernels on the roofline to this .png or .svg");
  cmd->add_option("--conv-variant", args->conv_variant,
                  "conv kernels to time beside cuDNN: auto (the dispatcher's choice), a rung N "
                  "of kernels/cuda/conv/, or all (auto and every rung)")
      ->capture_default_str();
  cmd->add_flag("--no-tf32", args->no_tf32,
                "conv rows in strict FP32 only (by default also with TF32 allowed on both sides)");
  cmd->add_option("--iters", args->iters, "timed launches per kernel (after 3 warm-up)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->callback([args] {
    const int code = run(*args);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace danlu::cli
