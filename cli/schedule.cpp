// `danlu schedule SPEC.json... --steps N`: the lr a scheduler spec gives at
// steps 0..N-1, as CSV (one column per spec) and optionally as a PNG plot.
// Each file holds one spec or a JSON array of them; a spec's optional
// "label" names its column (the default is its type).
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <tuple>

#include "cli/commands.h"
#include "cli/plot.h"
#include "engine/error.h"
#include "schedulers/check.h"
#include "schedulers/from_json.h"

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

struct Options {
  std::vector<std::string> specs;
  int64_t steps = 0;
  double base_lr = 0.1;
  std::string metrics, csv, plot, size = "480x240", title;
};

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  DANLU_CHECK(in, path, ": cannot open the spec file");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    DANLU_FAIL(path, ": not valid JSON (", e.what(), ")");
  }
}

std::vector<double> read_metrics(const std::string& path, int64_t needed) {
  std::ifstream in(path);
  DANLU_CHECK(in, "--metrics ", path, ": cannot open the file");
  std::vector<double> values;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream parse(line);
    double v;
    std::string rest;
    DANLU_CHECK(parse >> v && !(parse >> rest), "--metrics ", path, ":", line_no,
                ": expected one number per line, got \"", line, "\"");
    values.push_back(v);
  }
  DANLU_CHECK(int64_t(values.size()) >= needed, "--metrics ", path, ": has ", values.size(),
              " values; --steps ", needed + 1, " needs ", needed,
              " (one per step after the first)");
  return values;
}

// One column: the lr after 0, 1, ..., steps - 1 calls of step().
std::vector<double> run(const nlohmann::json& spec, const std::string& where, const Options& o,
                        const std::vector<double>* metrics) {
  SingleGroup target(o.base_lr);
  auto scheduler = sched::make_scheduler(spec, target, 0, where);
  DANLU_CHECK(!scheduler->needs_metric() || metrics, where,
              ": ReduceLROnPlateau needs --metrics FILE (one metric per line)");
  std::vector<double> lrs{target.lr(0)};
  for (int64_t t = 1; t < o.steps; ++t) {
    if (scheduler->needs_metric())
      scheduler->step((*metrics)[size_t(t - 1)]);
    else
      scheduler->step();
    lrs.push_back(target.lr(0));
  }
  return lrs;
}

void schedule(const Options& o) {
  DANLU_CHECK(o.steps >= 1, "--steps: expected an integer >= 1, got ", o.steps);
  // Every spec with its label and the path its errors are reported at.
  std::vector<std::tuple<nlohmann::json, std::string, std::string>> specs;
  for (const std::string& file : o.specs) {
    const nlohmann::json j = read_json(file);
    const bool many = j.is_array();
    DANLU_CHECK(!many || !j.empty(), file, ": expected a spec or a non-empty list of specs");
    for (size_t i = 0; i < (many ? j.size() : 1); ++i) {
      nlohmann::json spec = many ? j[i] : j;
      const std::string where =
          file + ": scheduler" + (many ? "[" + std::to_string(i) + "]" : std::string());
      std::string label;
      if (spec.is_object() && spec.contains("label")) {
        DANLU_CHECK(spec["label"].is_string(), where, ".label: expected a string, got ",
                    spec["label"].dump());
        label = spec["label"].get<std::string>();
        spec.erase("label");
      } else if (spec.is_object() && spec.contains("type") && spec["type"].is_string()) {
        label = spec["type"].get<std::string>();
      }
      specs.emplace_back(spec, label, where);
    }
  }
  // Repeated labels are numbered so that every column has its own name.
  std::map<std::string, int> seen;
  for (auto& [spec, label, where] : specs)
    if (int n = ++seen[label]; n > 1) label += " #" + std::to_string(n);

  std::vector<double> metrics;
  if (!o.metrics.empty()) metrics = read_metrics(o.metrics, o.steps - 1);
  std::vector<Series> columns;
  for (const auto& [spec, label, where] : specs)
    columns.push_back({label, run(spec, where, o, o.metrics.empty() ? nullptr : &metrics), {}});

  std::ostringstream csv;
  csv << "step";
  for (const Series& c : columns) csv << "," << (columns.size() == 1 ? "lr" : c.label);
  csv << "\n";
  for (int64_t t = 0; t < o.steps; ++t) {
    csv << t;
    for (const Series& c : columns) csv << "," << sched::format_number(c.y[size_t(t)]);
    csv << "\n";
  }
  if (o.csv.empty()) {
    std::fputs(csv.str().c_str(), stdout);
  } else {
    std::ofstream out(o.csv);
    DANLU_CHECK(out << csv.str(), "--csv ", o.csv, ": cannot write the file");
  }

  if (!o.plot.empty()) {
    PlotOptions plot;
    char x = 0;
    std::istringstream size(o.size);
    DANLU_CHECK(size >> plot.width >> x >> plot.height && x == 'x', "--size: expected WxH, got \"",
                o.size, "\"");
    plot.title = o.title;
    const std::vector<uint8_t> png = line_plot_png(columns, plot);
    std::ofstream out(o.plot, std::ios::binary);
    DANLU_CHECK(out.write(reinterpret_cast<const char*>(png.data()), std::streamsize(png.size())),
                "--plot ", o.plot, ": cannot write the file");
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
  cmd->add_option("--steps", o->steps, "Number of steps to print (0 .. N-1)")->required();
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
