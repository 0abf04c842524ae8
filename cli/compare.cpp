// `danlu compare CONFIG [--optimizers sgd,momentum,adam@0.003,...] [--lrs 1,0.1,0.01]
//  [--epochs N] [--target PERCENT] [--out DIR] [--device D] [--jobs N [--threads T]]
//  [--set k=v ...]`:
// the config trained once per optimizer and rate (train/compare.h), every
// trial from the same initial weights and data order, each in DIR/<trial>.
// It prints and writes the leaderboard (DIR/compare.md, DIR/compare.csv)
// with each curve's diagnosis, and overlays the curves (DIR/loss.png,
// DIR/accuracy.png, ...). Run again, it reads finished trials and resumes
// stopped ones; Ctrl-C stops the running trials at a checkpoint. --jobs N
// trains N trials at once on the CPU, each a child process (train/trials.h).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "cli/commands.h"
#include "cli/plot_runs.h"
#include "cli/stop_signal.h"
#include "cli/trial_jobs.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "train/compare.h"
#include "train/session.h"

namespace danlu::cli {

namespace {

struct CompareArgs {
  std::string config, device, out;
  std::vector<std::string> overrides, optimizers;
  std::vector<double> lrs;
  int64_t epochs = 0;
  double target_percent = 0;  // 0: one point below the best trial's best accuracy
  int jobs = 1, threads = 0;
};

void write_text(const std::string& path, const std::string& text) {
  io::replace_file(path, [&](io::AtomicWriter& f) { f.write(text); });
}

int run(const CompareArgs& a) {
  const train::TrainConfig config = train::load_config(a.config, a.overrides);
  std::string note;
  const Device device = train::pick_device(a.device.empty() ? config.device : a.device, note);
  train::CompareOptions options;
  for (const std::string& o : a.optimizers) options.optimizers.push_back(train::parse_optimizer_choice(o));
  options.lrs = a.lrs;
  options.epochs = a.epochs;
  const std::vector<train::Trial> trials = train::compare_trials(config, options);
  const std::string out =
      a.out.empty() ? "runs/compare-" + std::filesystem::path(a.config).stem().string() : a.out;
  std::filesystem::create_directories(out);
  std::printf("danlu compare %s: %s; %zu trials in %s, each from the same initial weights and "
              "data order (seed %llu)\n",
              a.config.c_str(), note.c_str(), trials.size(), out.c_str(),
              static_cast<unsigned long long>(config.seed));
  std::fflush(stdout);

  std::vector<train::TrialResult> results =
      train::run_trials(trials, out, device, trial_jobs(a.jobs, a.threads), catch_stop_signals());
  release_stop_signals();
  if (stop_exit_code() != 0) {
    std::printf("stopped; run the same command again to go on from the checkpoint\n");
    return stop_exit_code();
  }
  std::vector<train::CompareRow> rows;
  std::vector<std::string> finished_dirs;
  for (size_t i = 0; i < trials.size(); ++i) {
    train::TrialResult& r = results[i];
    std::printf("trial %s: %s%s\n", trials[i].name.c_str(), train::trial_state_name(r.state),
                r.state == train::TrialState::failed ? (": " + r.error).c_str() : "");
    if (r.state != train::TrialState::failed) finished_dirs.push_back(r.dir);
    rows.push_back(train::compare_row(trials[i], std::move(r)));
  }

  const double target = a.target_percent > 0 ? a.target_percent / 100 : train::default_target(rows);
  const std::string table = train::compare_markdown(rows, target);
  std::printf("\n%s\n", table.c_str());
  const std::filesystem::path dir(out);
  write_text((dir / "compare.md").string(), table);
  write_text((dir / "compare.csv").string(), train::compare_csv(rows, target));
  std::printf("wrote %s and %s\n", (dir / "compare.md").string().c_str(),
              (dir / "compare.csv").string().c_str());
  DANLU_CHECK(!finished_dirs.empty(), "compare: every trial failed; the table in ",
              (dir / "compare.md").string(), " gives each one's reason");
  plot_runs(finished_dirs, out);
  return 0;
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "train one config with several optimizers or learning rates; table and curves");
  cmd->add_option("config", args->config, "training config (see configs/)")->required();
  cmd->add_option("--optimizers", args->optimizers,
                  "comma-separated: sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, "
                  "adadelta, swats, each optionally @lr (default: the config's optimizer)")
      ->delimiter(',');
  cmd->add_option("--lrs", args->lrs, "comma-separated learning rates: every optimizer at each")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            const double lr = std::strtod(text.c_str(), nullptr);
            return lr > 0 && std::isfinite(lr) ? "" : "expected learning rates > 0, got " + text;
          },
          "LR > 0"));
  cmd->add_option("--epochs", args->epochs, "epochs per trial (default: the config's)")
      ->check(kInt64 & CLI::PositiveNumber);
  cmd->add_option("--target", args->target_percent,
                  "accuracy in percent for the \"epoch to\" column (default: 1 point below the "
                  "best trial's best)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--out", args->out, "where the trials' run directories, table and plots go "
                                      "(default runs/compare-<config>)");
  cmd->add_option("--device", args->device, "auto (GPU when usable), cpu, cuda or cuda:N");
  add_jobs_options(*cmd, args->jobs, args->threads);
  add_set_option(*cmd, args->overrides);
  cmd->callback([args] {
    const int code = run(*args);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace danlu::cli
