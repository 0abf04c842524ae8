// `danlu lr-find CONFIG [--start 1e-7 --end 10 --iters 100 --mode exp|linear]`:
// the LR range test (train/lr_find.h), its three suggestions and a
// recommendation, with its curve as CSV and PNG.
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <utility>

#include "cli/commands.h"
#include "cli/plot.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/printf_string.h"
#include "train/data.h"
#include "train/lr_find.h"

namespace danlu::cli {

namespace {

struct LrFindArgs {
  std::string config, device = "auto", out, mode = "exp";
  std::vector<std::string> overrides;
  train::LrFindOptions options;
};

void write_outputs(const train::LrFindResult& r, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string csv = dir + "/lr_find.csv", png = dir + "/lr_find.png";
  std::ostringstream out;
  out.precision(9);
  out << "iteration,lr,loss,smoothed_loss\n";
  for (size_t i = 0; i < r.lrs.size(); ++i)
    out << i << ',' << r.lrs[i] << ',' << r.losses[i] << ',' << r.smoothed[i] << '\n';
  io::replace_file(csv, [&](io::AtomicWriter& file) { file.write(out.str()); });
  const train::LossRange range = train::useful_loss_range(r.losses, r.smoothed);
  PlotOptions o;
  o.width = 640, o.height = 360, o.log_x = true;
  o.y_lo = range.lo, o.y_hi = range.hi, o.y_from_zero = false;
  o.x_label = "learning rate (log scale)", o.y_label = "loss";
  o.title = "LR range test: the three suggestions, dashed the recommended; loss cut at 1.5x start";
  std::vector<Series> series = {{"smoothed loss", r.smoothed, r.lrs}, {"loss", r.losses, r.lrs}};
  const train::LrSuggestions& s = r.suggestions;
  if (s.none.empty()) {
    for (const auto& [rule, lr] : {std::pair{"steepest", s.steepest},
                                   {"min/10", s.min_over_10()}, {"valley", s.valley}})
      series.push_back({printf_string("%s %.3g", rule, lr), {range.lo, range.hi}, {lr, lr}});
    o.marks_x = {s.recommended()};
  }
  if (write_line_plot(png, series, o))
    std::printf("wrote %s and %s\n", csv.c_str(), png.c_str());
  else
    std::printf("wrote %s\n", csv.c_str());
}

// The three rules, how far apart they are, and the one to use.
void print_suggestions(const train::LrSuggestions& s, size_t points) {
  if (!s.none.empty()) {
    std::printf("no suggestion: %s\n", s.none.c_str());
    return;
  }
  std::printf("suggestions from points %zu to %zu of %zu (warm-up and blow-up skipped):\n",
              s.first, s.end - 1, points);
  std::printf("  steepest %9.3g  the smoothed loss falls fastest against log(lr)\n", s.steepest);
  std::printf("  min/10   %9.3g  a tenth of the rate at its minimum (%.3g)\n", s.min_over_10(),
              s.min_lr);
  std::printf("  valley   %9.3g  fastai's: halfway into the longest fall\n", s.valley);
  if (s.spread() <= 3)
    std::printf("the three agree within %.1fx\n", s.spread());
  else
    std::printf("the three disagree: %.0fx apart; read lr_find.png before trusting one\n",
                s.spread());
  std::printf("recommended lr: %.3g (%s, the middle of the three)\n", s.recommended(),
              s.recommended_rule());
}

void run(LrFindArgs& a) {
  train::check_options(a.options);  // before the data is read
  const train::TrainConfig config = train::load_config(a.config, a.overrides);
  std::string note;
  const Device device = train::pick_device(a.device, note);
  a.options.exponential = a.mode == "exp";
  const io::ImageDataset data = train::load_split(config.data, /*train=*/true);
  const io::DataLoader loader = train::train_loader(data, config, device);
  train::Session session =
      train::make_session(config, device, train::sample_shape(data), loader.size());
  train::check_labels(data, config, /*train=*/true, *session.model);
  std::printf("danlu lr-find %s: %s, lr %g to %g over %lld iterations (%s)\n", a.config.c_str(),
              note.c_str(), a.options.start, a.options.end,
              static_cast<long long>(a.options.iters), a.mode.c_str());
  const train::LrFindResult r = train::lr_find(session, loader, a.options);
  if (r.stopped_early)
    std::printf("stopped after %zu iterations: the loss passed %gx its best (at lr %g)\n",
                r.lrs.size(), a.options.stop_factor, r.lrs.back());
  print_suggestions(r.suggestions, r.lrs.size());
  write_outputs(r, a.out.empty() ? "runs/" + std::filesystem::path(a.config).stem().string() +
                                       "-lr-find"
                                 : a.out);
}

}  // namespace

void add_lr_find_command(CLI::App& app) {
  auto args = std::make_shared<LrFindArgs>();
  CLI::App* cmd = app.add_subcommand("lr-find", "learning-rate range test (Smith 2017)");
  cmd->add_option("config", args->config, "training config")->required();
  cmd->add_option("--start", args->options.start, "first learning rate")->capture_default_str();
  cmd->add_option("--end", args->options.end, "last learning rate")->capture_default_str();
  cmd->add_option("--iters", args->options.iters, "iterations (at most 100000)")
      ->check(kInt64)
      ->capture_default_str();
  cmd->add_option("--mode", args->mode, "lr steps: exp (geometric) or linear")
      ->check(CLI::IsMember({"exp", "linear"}))
      ->capture_default_str();
  cmd->add_option("--out", args->out, "output folder (default runs/<config>-lr-find)");
  cmd->add_option("--device", args->device, "auto, cpu, cuda or cuda:N");
  add_set_option(*cmd, args->overrides);
  cmd->callback([args] { run(*args); });
}

}  // namespace danlu::cli
