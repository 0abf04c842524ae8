// `danlu schedule SPEC.json... --steps N`: the lr a scheduler spec gives at
// steps 0..N-1, as CSV (one column per spec) and optionally as a PNG plot.
// Each file holds one spec or a JSON array of them; a spec's optional
// "label" names its column (the default is its type). The CSV is written as
// the steps run and the plot keeps a bounded sample, so memory does not grow
// with --steps.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/plot_sample.h"
#include "engine/error.h"
#include "schedulers/check.h"
#include "schedulers/from_json.h"
#include "train/config.h"

namespace danlu::cli {

namespace {

// The optimizer the schedules drive: one param group with momentum.
class SingleGroup : public sched::LrTarget {
 public:
  explicit SingleGroup(double lr) : lr_(lr) {}
  size_t num_param_groups() const override { return 1; }
  double lr(size_t) const override { return lr_; }
  void set_lr(size_t, double lr) override { lr_ = lr; }
  bool has_momentum() const override { return true; }
  double momentum(size_t) const override { return momentum_; }
  void set_momentum(size_t, double m) override { momentum_ = m; }

 private:
  double lr_;
  double momentum_ = 0.9;
};

// The most steps one call prints: 10^7 lines of CSV (about 100 MB) take
// about ten seconds; beyond that a typo like --steps 1e9 would write for
// many minutes.
constexpr int64_t kMaxSteps = 10'000'000;

struct Options {
  std::vector<std::string> specs;
  int64_t steps = 0;
  double base_lr = 0.1;
  std::string metrics, csv, plot, size = "480x240", title;
};

// One column: a spec's scheduler driving its own optimizer stand-in.
struct Column {
  std::string label, where;
  nlohmann::json spec;
  SingleGroup target;
  std::unique_ptr<sched::LRScheduler> scheduler;
  SampledCurve curve;
};

// The --metrics file read one value per step, so that no step count holds
// the whole file in memory.
class MetricStream {
 public:
  MetricStream(const std::string& path, int64_t steps) : path_(path), steps_(steps), in_(path) {
    DANLU_CHECK(in_, "--metrics ", path, ": cannot open the file");
  }
  double next() {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_no_;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::istringstream parse(line);
      double v;
      std::string rest;
      DANLU_CHECK(parse >> v && !(parse >> rest) && std::isfinite(v), "--metrics ", path_, ":",
                  line_no_, ": expected one finite number per line, got \"", line, "\"");
      ++read_;
      return v;
    }
    DANLU_FAIL("--metrics ", path_, ": has ", read_, " values; --steps ", steps_, " needs ",
               steps_ - 1, " (one per step after the first)");
  }

 private:
  std::string path_;
  int64_t steps_, line_no_ = 0, read_ = 0;
  std::ifstream in_;
};

// Every spec of every file, with its label and the path its errors name.
std::vector<std::unique_ptr<Column>> read_columns(const Options& o) {
  std::vector<std::unique_ptr<Column>> columns;
  for (const std::string& file : o.specs) {
    const nlohmann::json j = train::read_json_file(file);
    const bool many = j.is_array();
    DANLU_CHECK(!many || !j.empty(), file, ": expected a spec or a non-empty list of specs");
    for (size_t i = 0; i < (many ? j.size() : 1); ++i) {
      auto c = std::make_unique<Column>(Column{"", "", many ? j[i] : j, SingleGroup(o.base_lr),
                                               nullptr, SampledCurve()});
      c->where = file + ": scheduler" + (many ? "[" + std::to_string(i) + "]" : std::string());
      nlohmann::json& spec = c->spec;
      if (spec.is_object() && spec.contains("label")) {
        DANLU_CHECK(spec["label"].is_string(), c->where, ".label: expected a string, got ",
                    spec["label"].dump());
        c->label = spec["label"].get<std::string>();
        spec.erase("label");
      } else if (spec.is_object() && spec.contains("type") && spec["type"].is_string()) {
        c->label = spec["type"].get<std::string>();
      }
      c->scheduler = sched::make_scheduler(spec, c->target, 0, c->where);
      columns.push_back(std::move(c));
    }
  }
  // Repeated labels are numbered so that every column has its own name.
  std::map<std::string, int> seen;
  for (auto& c : columns)
    if (int n = ++seen[c->label]; n > 1) c->label += " #" + std::to_string(n);
  return columns;
}

// The CSV goes out one line per step; the plot keeps a bounded sample.
void schedule(const Options& o) {
  DANLU_CHECK(o.steps >= 1 && o.steps <= kMaxSteps, "--steps: expected an integer in [1, ",
              kMaxSteps, "], got ", o.steps);
  DANLU_CHECK(std::isfinite(o.base_lr) && o.base_lr > 0,
              "--base-lr: expected a finite number > 0, got ", o.base_lr);
  PlotOptions plot;
  if (!o.plot.empty()) {
    char x = 0;
    std::istringstream size(o.size);
    DANLU_CHECK(size >> plot.width >> x >> plot.height && x == 'x', "--size: expected WxH, got \"",
                o.size, "\"");
    check_plot_size(plot.width, plot.height, "--size");
    plot.title = o.title;
  }
  std::vector<std::unique_ptr<Column>> columns = read_columns(o);
  const bool needs_metric = std::any_of(columns.begin(), columns.end(), [](const auto& c) {
    return c->scheduler->needs_metric();
  });
  for (const auto& c : columns)
    DANLU_CHECK(!c->scheduler->needs_metric() || !o.metrics.empty(), c->where,
                ": ReduceLROnPlateau needs --metrics FILE (one metric per line)");
  std::optional<MetricStream> metrics;
  if (needs_metric) metrics.emplace(o.metrics, o.steps);

  std::ofstream file;
  if (!o.csv.empty()) {
    file.open(o.csv);
    DANLU_CHECK(file, "--csv ", o.csv, ": cannot open the file for writing");
  }
  std::ostream& csv = o.csv.empty() ? std::cout : file;
  csv << "step";
  for (const auto& c : columns) csv << "," << (columns.size() == 1 ? "lr" : c->label);
  csv << "\n";
  for (int64_t t = 0; t < o.steps; ++t) {
    const double metric = t > 0 && metrics ? metrics->next() : 0;
    csv << t;
    for (const auto& c : columns) {
      if (t > 0 && c->scheduler->needs_metric())
        c->scheduler->step(metric);
      else if (t > 0)
        c->scheduler->step();
      const double lr = c->target.lr(0);
      csv << "," << format_number(lr);
      if (!o.plot.empty()) c->curve.add(double(t), lr);
    }
    csv << "\n";
  }
  csv.flush();
  DANLU_CHECK(csv, o.csv.empty() ? std::string("stdout") : "--csv " + o.csv,
              ": cannot write the CSV");

  if (!o.plot.empty()) {
    std::vector<Series> series;
    for (const auto& c : columns) series.push_back(c->curve.series(c->label));
    write_line_plot(o.plot, series, plot);
  }
}

}  // namespace

void add_schedule_command(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "schedule", "Print (and plot) the learning rate a scheduler spec gives at each step");
  cmd->add_option("specs", o->specs,
                  "JSON files, each a spec {\"type\": ..., ...} or a list of specs; an optional "
                  "\"label\" names a spec's column")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--steps", o->steps, "Number of steps to print (0 .. N-1), at most 10^7")
      ->required()
      ->check(kInt64);
  cmd->add_option("--base-lr", o->base_lr, "The optimizer's lr the schedules start from")
      ->capture_default_str();
  cmd->add_option("--metrics", o->metrics,
                  "File with one metric per line, for ReduceLROnPlateau (line t feeds step t+1)");
  cmd->add_option("--csv", o->csv, "Write the CSV to this file instead of stdout");
  cmd->add_option("--plot", o->plot, "Draw the curves into this PNG file");
  cmd->add_option("--size", o->size, "The plot's size in pixels, WxH")->capture_default_str();
  cmd->add_option("--title", o->title, "A title above the plot");
  cmd->callback([o] { schedule(*o); });
}

}  // namespace danlu::cli
