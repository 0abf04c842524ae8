// `danlu train CONFIG.json [--device D] [--out RUN_DIR] [--resume CKPT | --overwrite]
//  [--set k=v ...]`
// Ctrl-C (SIGINT) and SIGTERM ask the loop to checkpoint after the current
// step and exit 130 or 143 (cli/stop_signal.h).
// `--bench-steps N` and `--profile N` time N steps instead of training (see
// train/measure.h): the first prints images/s as a JSON line, the second a
// per-layer table it also writes to RUN_DIR/profile.{txt,json}.
// `mpirun -np N danlu train ...` trains data-parallel, one rank per process
// (train/distributed.h, docs/distributed.md).
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/ops/conv.h"
#include "train/config.h"
#include "train/diagnose.h"
#include "train/distributed.h"
#include "train/measure.h"
#include "train/report.h"
#include "train/session.h"
#include "train/trainer.h"

namespace danlu::cli {

namespace {

struct TrainArgs {
  std::string config, device = "", out, resume, conv_backend = "ours";
  bool overwrite = false, no_tf32 = false;
  std::vector<std::string> overrides;
  int64_t bench_steps = 0, profile_steps = 0, warmup_steps = 5;
};

// runs/<config name>-<date>-<time>.
std::string default_run_dir(const std::string& config) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + std::filesystem::path(config).stem().string() + "-" + stamp;
}

// --bench-steps: one JSON line, last on stdout, for scripts.
int bench(const TrainArgs& a, const train::TrainConfig& config, Device device) {
  const train::Measurement m =
      train::measure_steps(config, device, {a.warmup_steps, a.bench_steps, false});
  const nlohmann::json line = {
      {"config", a.config},         {"device", device.str()},        {"batch_size", m.batch_size},
      {"warmup_steps", m.warmup_steps}, {"steps", m.steps},          {"seconds", m.seconds},
      {"images_per_second", m.images_per_s}};
  std::printf("%s\n", line.dump().c_str());
  return 0;
}

// --profile: the table on stdout and in RUN_DIR.
int profile(const TrainArgs& a, const train::TrainConfig& config, Device device,
            const std::string& run_dir) {
  const train::Measurement m =
      train::measure_steps(config, device, {a.warmup_steps, a.profile_steps, true});
  const std::string table = train::format_profile(*m.profile);
  std::printf("%s", table.c_str());
  std::filesystem::create_directories(run_dir);
  const std::filesystem::path dir(run_dir);
  nlohmann::json out = train::profile_json(*m.profile);
  out["config"] = a.config, out["warmup_steps"] = m.warmup_steps;
  const std::string json_text = out.dump(2) + '\n';
  io::replace_file((dir / "profile.txt").string(), [&](io::AtomicWriter& f) { f.write(table); });
  io::replace_file((dir / "profile.json").string(), [&](io::AtomicWriter& f) { f.write(json_text); });
  std::printf("profile written to %s and %s\n", (dir / "profile.txt").string().c_str(),
              (dir / "profile.json").string().c_str());
  return 0;
}

// The verdict on the run's loss curve (train/diagnose.h), one paragraph; a
// run that logged nothing has none.
void print_diagnosis(const std::string& run_dir) {
  try {
    std::printf("%s\n", train::to_text(train::diagnose(train::read_history(run_dir))).c_str());
  } catch (const Error& e) {
    std::printf("diagnosis: none (%s)\n", e.what());
  }
}

int run(TrainArgs a) {
  if (a.no_tf32) a.overrides.push_back("allow_tf32=false");
  const train::TrainConfig config = train::load_config(a.config, a.overrides);
  std::string note;
  const Device device = train::pick_device(a.device.empty() ? config.device : a.device, note);
  set_conv_backend(parse_conv_backend(a.conv_backend));
  if (a.bench_steps > 0) {
    std::printf("danlu train %s --bench-steps %lld: %s\n", a.config.c_str(),
                static_cast<long long>(a.bench_steps), note.c_str());
    std::fflush(stdout);
    return bench(a, config, device);
  }
  train::RunOptions options;
  options.run_dir = !a.out.empty()      ? a.out
                    : !a.resume.empty() ? std::filesystem::path(a.resume).parent_path().string()
                                        : default_run_dir(a.config);
  if (options.run_dir.empty()) options.run_dir = ".";
  options.resume = a.resume;
  options.overwrite = a.overwrite;
  options.interactive = isatty(STDOUT_FILENO);
  if (a.profile_steps > 0) {
    std::printf("danlu train %s --profile %lld: %s\n", a.config.c_str(),
                static_cast<long long>(a.profile_steps), note.c_str());
    std::fflush(stdout);
    return profile(a, config, device, options.run_dir);
  }
  std::printf("danlu train %s: %s, run dir %s\n", a.config.c_str(), note.c_str(),
              options.run_dir.c_str());
  std::fflush(stdout);

  options.stop = catch_stop_signals();
  const train::RunSummary s = train::run_training(config, device, options);
  release_stop_signals();

  std::printf("%s: best test accuracy %.2f%% (epoch %lld), final %.2f%%; ", s.message.c_str(),
              100 * s.best_accuracy, static_cast<long long>(s.best_epoch), 100 * s.final_accuracy);
  if (s.first_step > 0)  // the time and speed are this process's, not the whole run's
    std::printf("steps %lld to %lld (resumed) in %s", static_cast<long long>(s.first_step),
                static_cast<long long>(s.steps), train::format_duration(s.seconds).c_str());
  else
    std::printf("%lld steps in %s", static_cast<long long>(s.steps),
                train::format_duration(s.seconds).c_str());
  std::printf(" (%.0f images/s)", s.images_per_s);
  if (device.is_cuda()) std::printf("; peak GPU memory %.1f MiB", s.peak_memory_bytes / 1048576.0);
  std::printf("\n");
  const std::filesystem::path dir(options.run_dir);
  std::printf("metrics: %s\ncheckpoints: %s, %s\nplots: danlu plot %s\n",
              (dir / "metrics.jsonl").string().c_str(), (dir / "best.safetensors").string().c_str(),
              (dir / "last.safetensors").string().c_str(), options.run_dir.c_str());
  print_diagnosis(options.run_dir);
  switch (s.end) {
    case train::RunEnd::interrupted: return stop_exit_code();
    case train::RunEnd::diverged: return 2;
    default: return 0;
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "train a model from a JSON config");
  cmd->add_option("config", args->config, "training config (see configs/ and docs/training.md)")
      ->required();
  cmd->add_option("--device", args->device, "auto (GPU when usable), cpu, cuda or cuda:N");
  cmd->add_option("--out", args->out, "run directory (default runs/<config>-<date>-<time>)");
  auto* resume = cmd->add_option("--resume", args->resume,
                                 "checkpoint to continue from (e.g. RUN/last.safetensors)");
  cmd->add_flag("--overwrite", args->overwrite,
                "replace the run already in --out (its metrics, config, checkpoints and plots "
                "are removed first)")
      ->excludes(resume);
  cmd->add_option("--conv-backend", args->conv_backend,
                  "convolution kernels: ours, or cudnn (the comparison backend, GPU only)")
      ->check(CLI::IsMember({"ours", "cudnn"}));
  add_set_option(*cmd, args->overrides);
  cmd->add_flag("--no-tf32", args->no_tf32,
                "strict FP32 convolutions on a GPU (the same as --set allow_tf32=false)");
  auto* bench = cmd->add_option("--bench-steps", args->bench_steps,
                                "time N training steps instead of training; print images/s as JSON")
                    ->check(kInt64 & CLI::PositiveNumber);
  cmd->add_option("--profile", args->profile_steps,
                  "time N steps layer by layer instead of training; print and save the table")
      ->check(kInt64 & CLI::PositiveNumber)
      ->excludes(bench);
  cmd->add_option("--warmup-steps", args->warmup_steps,
                  "untimed steps before --bench-steps/--profile (default 5)")
      ->check(kInt64 & CLI::NonNegativeNumber);
  cmd->callback([args] {
    const int code = train::run_as_rank([&] { return run(*args); });
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace danlu::cli
