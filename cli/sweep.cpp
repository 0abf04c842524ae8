// `danlu sweep SWEEP.json [--out DIR] [--device D] [--jobs N [--threads T]]`: the search the sweep
// file describes (train/sweep.h), each trial a run directory in DIR. It
// writes the leaderboard (DIR/leaderboard.md, .csv), the best point's config
// as a file `danlu train` takes (DIR/best_config.json), every trial's curves
// on one plot (DIR/loss.png, DIR/accuracy.png, ...) and, for each numeric
// key, the first rung's score against the key's value (DIR/score_vs_<key>.png).
// Run again, it reads finished trials and resumes stopped ones; Ctrl-C
// stops the running trials at a checkpoint. --jobs N trains N trials of a
// rung at once on the CPU, each a child process (train/trials.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/plot_runs.h"
#include "cli/stop_signal.h"
#include "cli/trial_jobs.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "train/session.h"
#include "train/sweep.h"

namespace danlu::cli {

namespace {

namespace fs = std::filesystem;

struct SweepArgs {
  std::string sweep, device, out;
  int jobs = 1, threads = 0;
};

void write_text(const fs::path& path, const std::string& text) {
  io::replace_file(path.string(), [&](io::AtomicWriter& f) { f.write(text); });
  std::printf("wrote %s\n", path.string().c_str());
}

// The first rung's score (every point has one) against each numeric key.
void plot_scores(const train::SweepSpec& spec, const train::SweepResult& r, const fs::path& out) {
  for (size_t k = 0; k < spec.space.size(); ++k) {
    const train::SearchDimension& d = spec.space[k];
    std::vector<std::pair<double, double>> xy;
    for (const train::PointResult& p : r.points)
      if (p.point.values[k].is_number() && !p.scores.empty() && !std::isnan(p.scores[0]))
        xy.emplace_back(p.point.values[k].get<double>(), p.scores[0]);
    if (xy.size() < 2) {
      std::printf("skipped the plot of %s: fewer than two numeric values with a score\n",
                  d.path.c_str());
      continue;
    }
    std::sort(xy.begin(), xy.end());
    Series s;
    s.label = spec.metric + " @" + std::to_string(r.rungs[0]) + " ep";
    for (const auto& [x, y] : xy) s.x.push_back(x), s.y.push_back(y);
    PlotOptions o;
    o.width = 640, o.height = 360;
    o.x_label = d.path, o.y_label = spec.metric, o.title = spec.metric + " against " + d.path;
    o.log_x = d.log_scale() || (xy.front().first > 0 && xy.back().first / xy.front().first >= 100);
    o.y_from_zero = false;
    const fs::path path = out / ("score_vs_" + d.path + ".png");
    if (write_line_plot(path.string(), {s}, o)) std::printf("wrote %s\n", path.string().c_str());
  }
}

int run(const SweepArgs& a) {
  const train::SweepSpec spec = train::read_sweep(a.sweep);
  std::string note;
  const Device device = train::pick_device(a.device.empty() ? "auto" : a.device, note);
  const fs::path out = a.out.empty() ? fs::path("runs") / ("sweep-" + fs::path(a.sweep).stem().string())
                                     : fs::path(a.out);
  fs::create_directories(out);
  std::printf("danlu sweep %s: %s; %zu points x %zu seeds of %s in %s, scored by %s%s\n",
              a.sweep.c_str(), note.c_str(), train::sweep_points(spec).size(), spec.seeds.size(),
              spec.config_path.c_str(), out.string().c_str(), spec.metric.c_str(),
              spec.halving ? (", successive halving (eta " + std::to_string(spec.eta) + ")").c_str()
                           : "");
  std::fflush(stdout);
  const train::SweepResult r = train::run_sweep(spec, out.string(), device, catch_stop_signals(),
                                                trial_jobs(a.jobs, a.threads));
  release_stop_signals();
  if (r.stopped) {
    std::printf("stopped; run the same command again to go on from the checkpoints\n");
    return stop_exit_code();
  }
  const std::string table = train::sweep_markdown(spec, r);
  std::printf("\n%s\n", table.c_str());
  write_text(out / "leaderboard.md", table);
  write_text(out / "leaderboard.csv", train::sweep_csv(spec, r));
  const train::PointResult& best = r.points.front();
  DANLU_CHECK(!std::isnan(best.scores.back()), "sweep: no trial gave a score; the leaderboard in ",
              (out / "leaderboard.md").string(), " gives each point's reason");
  const nlohmann::json config = train::point_config(spec, best.point, spec.seeds[0], 0);
  write_text(out / "best_config.json", config.dump(2) + "\n");
  std::printf("best: %s (%s %.4g); train it: danlu train %s\n", best.name.c_str(),
              spec.metric.c_str(), best.scores.back(), (out / "best_config.json").string().c_str());
  std::vector<std::string> dirs;
  for (const train::PointResult& p : r.points)
    for (const std::string& d : p.dirs)
      if (fs::is_regular_file(fs::path(d) / "metrics.jsonl")) dirs.push_back(d);
  if (!dirs.empty()) plot_runs(dirs, out.string());
  plot_scores(spec, r, out);
  return 0;
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "hyperparameter search (grid, random, log-uniform; successive halving)");
  cmd->add_option("sweep", args->sweep, "sweep file (see configs/sweeps/ and docs/tuning.md)")
      ->required();
  cmd->add_option("--out", args->out,
                  "where the trials' run directories and the results go (default runs/sweep-<name>)");
  cmd->add_option("--device", args->device, "auto (GPU when usable), cpu, cuda or cuda:N");
  add_jobs_options(*cmd, args->jobs, args->threads);
  cmd->callback([args] {
    const int code = run(*args);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace danlu::cli
